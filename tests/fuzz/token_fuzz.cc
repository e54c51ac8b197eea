// A join token arrives from whoever calls the join service, before any
// certificate is checked. The parser must answer any text with a token or
// InvalidArgument; a token it accepts must survive formatting and parsing
// again; and checking it against this cluster's CA must refuse it (nobody
// here knows the CA key it would need) without crashing.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/check.h"
#include "tls/certs.h"
#include "tls/token.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace paxosfs;
  static const tls::Ca ca = tls::NewCa("fuzz").value();
  std::string text(reinterpret_cast<const char*>(data), size);
  StatusOr<tls::Token> token = tls::ParseToken(text);
  if (!token.ok()) {
    PAXOSFS_CHECK(token.status().code() == StatusCode::kInvalidArgument);
    return 0;
  }
  StatusOr<tls::Token> again = tls::ParseToken(tls::FormatToken(*token));
  PAXOSFS_CHECK(again.ok());
  PAXOSFS_CHECK(again->issuer == token->issuer && again->id == token->id &&
                again->expires_unix_s == token->expires_unix_s &&
                again->mac == token->mac &&
                again->ca_fingerprint == token->ca_fingerprint);
  Status checked =
      tls::CheckToken(*token, ca.key_pem, ca.cert_pem, token->issuer, 0);
  PAXOSFS_CHECK(!checked.ok());
  return 0;
}
