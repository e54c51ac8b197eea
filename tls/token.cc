#include "tls/token.h"

#include <openssl/crypto.h>

#include <cstdlib>
#include <sstream>
#include <vector>

#include "tls/certs.h"

namespace paxosfs::tls {
namespace {

constexpr char kPrefix[] = "pxt1";
constexpr char kCreateHint[] =
    "; create a new token with `paxosfs token create --data DIR` on a node "
    "that holds the cluster's CA";

std::string SignedPart(const Token& t) {
  return std::string(kPrefix) + "." + std::to_string(t.issuer) + "." + t.id +
         "." + std::to_string(t.expires_unix_s);
}

// The token key is derived from the CA key, not the CA key itself, so a
// MAC never uses the signing key's bytes directly for two purposes.
std::string Mac(const std::string& ca_key_pem, const Token& t) {
  std::string key = HmacSha256(ca_key_pem, "paxosfs join token key v1");
  return HexOf(HmacSha256(key, SignedPart(t))).substr(0, 32);
}

bool IsHex(const std::string& s, size_t length) {
  if (s.size() != length) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool ParseNumber(const std::string& s, int64_t* out) {
  if (s.empty() || s.size() > 18) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  *out = std::strtoll(s.c_str(), nullptr, 10);
  return true;
}

}  // namespace

StatusOr<Token> NewToken(const std::string& ca_key_pem,
                         const std::string& ca_cert_pem, uint64_t issuer,
                         int64_t ttl_s, int64_t now_unix_s) {
  auto fingerprint = Fingerprint(ca_cert_pem);
  if (!fingerprint.ok()) return fingerprint.status();
  Token t;
  t.issuer = issuer;
  t.id = RandomHex(8);
  t.expires_unix_s = now_unix_s + ttl_s;
  t.ca_fingerprint = *fingerprint;
  t.mac = Mac(ca_key_pem, t);
  return t;
}

std::string FormatToken(const Token& t) {
  return SignedPart(t) + "." + t.mac + "." + t.ca_fingerprint;
}

StatusOr<Token> ParseToken(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, '.')) parts.push_back(part);
  Token t;
  int64_t issuer = 0;
  bool ok = parts.size() == 6 && parts[0] == kPrefix &&
            ParseNumber(parts[1], &issuer) && issuer > 0 &&
            IsHex(parts[2], 16) && ParseNumber(parts[3], &t.expires_unix_s) &&
            IsHex(parts[4], 32) && IsHex(parts[5], 64);
  if (!ok) {
    return Status::InvalidArgument(
        "'" + text.substr(0, 40) + (text.size() > 40 ? "...'" : "'") +
        " is not a paxosfs join token (pxt1.NODE.ID.EXPIRY.MAC.CA-HASH)" +
        kCreateHint);
  }
  t.issuer = static_cast<uint64_t>(issuer);
  t.id = parts[2];
  t.mac = parts[4];
  t.ca_fingerprint = parts[5];
  return t;
}

Status CheckToken(const Token& token, const std::string& ca_key_pem,
                  const std::string& ca_cert_pem, uint64_t self,
                  int64_t now_unix_s) {
  auto fingerprint = Fingerprint(ca_cert_pem);
  if (!fingerprint.ok()) return fingerprint.status();
  if (token.ca_fingerprint != *fingerprint) {
    return Status::PermissionDenied(
        "token " + token.id +
        " was made for another cluster (its CA fingerprint is " +
        token.ca_fingerprint.substr(0, 16) + "..., this cluster's " +
        fingerprint->substr(0, 16) + "...)" + kCreateHint);
  }
  std::string mac = Mac(ca_key_pem, token);
  if (CRYPTO_memcmp(mac.data(), token.mac.data(), mac.size()) != 0 ||
      token.mac.size() != mac.size()) {
    return Status::PermissionDenied("token " + token.id +
                                    " is forged or damaged (its MAC does not "
                                    "match this cluster's CA)" +
                                    kCreateHint);
  }
  if (token.issuer != self) {
    return Status::PermissionDenied("token " + token.id + " was made by node " +
                                    std::to_string(token.issuer) +
                                    " and is redeemed only there; run "
                                    "join with --peer set to node " +
                                    std::to_string(token.issuer) +
                                    "'s address");
  }
  if (now_unix_s >= token.expires_unix_s) {
    return Status::PermissionDenied(
        "token " + token.id + " expired " +
        std::to_string(now_unix_s - token.expires_unix_s) + " s ago" +
        kCreateHint);
  }
  return Status::Ok();
}

StatusOr<int64_t> ParseTtl(const std::string& text) {
  int64_t unit = 1;
  std::string number = text;
  if (!text.empty()) {
    switch (text.back()) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      default:
        unit = 0;
    }
    if (unit != 0) number.pop_back();
    if (unit == 0) unit = 1;
  }
  int64_t n = 0;
  if (!ParseNumber(number, &n) || n > 1'000'000'000 || n * unit < 60 ||
      n * unit > 30 * 86400) {
    return Status::InvalidArgument(
        "bad --ttl '" + text +
        "': give a duration between 1m and 30d, e.g. 30m, 1h or 2d");
  }
  return n * unit;
}

}  // namespace paxosfs::tls
