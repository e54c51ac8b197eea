// Join tokens: what lets a new machine become a member. A token is created
// on a node that holds the CA (`paxosfs token create`) and is redeemed at
// that same node (its issuer), which records it as used before it signs
// the joiner's certificate.
//
// Text form (one shell word):
//   pxt1.<issuer node>.<id: 16 hex>.<expiry: unix seconds>.<mac: 32 hex>
//       .<CA fingerprint: 64 hex>
//
// The MAC is HMAC-SHA-256 (truncated to 128 bits) over everything before
// it, keyed by a key derived from the CA's private key: only a CA holder
// can make or check one, and nothing is stored until it is used. The CA
// fingerprint lets the joiner pin the cluster's CA before it sends the
// token anywhere (like kubeadm's --discovery-token-ca-cert-hash): a server
// that cannot prove a certificate of that CA never sees the token.
//
// Thread safety: free functions, reentrant.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace paxosfs::tls {

struct Token {
  uint64_t issuer = 0;  // Node id of the CA holder that made it.
  std::string id;       // 16 hex digits, random.
  int64_t expires_unix_s = 0;
  std::string mac;             // 32 hex digits.
  std::string ca_fingerprint;  // tls::Fingerprint of the CA certificate.
};

// A fresh token of `issuer` valid until now + `ttl_s`, from the CA's key
// and certificate. kInvalidArgument if the CA certificate does not parse.
StatusOr<Token> NewToken(const std::string& ca_key_pem,
                         const std::string& ca_cert_pem, uint64_t issuer,
                         int64_t ttl_s, int64_t now_unix_s);

std::string FormatToken(const Token& token);

// kInvalidArgument naming what is malformed (and how to get a good one).
StatusOr<Token> ParseToken(const std::string& text);

// Checks a parsed token at its issuer: made with this CA (fingerprint and
// MAC), by this node, not expired. kPermissionDenied with a message that
// says what is wrong and what to do.
Status CheckToken(const Token& token, const std::string& ca_key_pem,
                  const std::string& ca_cert_pem, uint64_t self,
                  int64_t now_unix_s);

// Parses "90s", "30m", "1h", "7d" (a bare number is seconds) into
// seconds, between 1 minute and 30 days.
StatusOr<int64_t> ParseTtl(const std::string& text);

}  // namespace paxosfs::tls
