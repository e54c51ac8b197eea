// Keys and certificates of a cluster (OpenSSL 3): the cluster's CA, node
// certificates it signs, and what a node certificate says. Everything is
// PEM text in and out; nothing here touches files or the network.
//
// A node certificate binds one node of one cluster to its key:
//   subject CN=node-<id>, O=<cluster id>; SAN DNS:paxosfs-node (kServerName,
//   the name every client checks, since peers are dialled by address);
//   extended key usage serverAuth + clientAuth (a node is both); signed
//   with ECDSA P-256 / SHA-256 by the CA (CN=paxosfs CA, O=<cluster id>).
//
// Thread safety: free functions, reentrant.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace paxosfs::tls {

// The DNS name in every node certificate and the name clients verify.
inline constexpr char kServerName[] = "paxosfs-node";

// Validity periods. Certificates are not renewed automatically (see
// tls/README.md), so they are long; removal from the cluster, not expiry,
// is what ends a node's membership.
inline constexpr int kCaValidDays = 20 * 365;
inline constexpr int kNodeValidDays = 10 * 365;

struct Ca {
  std::string cert_pem;
  std::string key_pem;  // Secret: only CA-holding nodes have it.
};

// A new EC P-256 private key (PKCS#8 PEM, unencrypted).
StatusOr<std::string> NewPrivateKey();

// The public key (SubjectPublicKeyInfo PEM) of `private_key_pem`.
StatusOr<std::string> PublicKeyOf(const std::string& private_key_pem);

// A new self-signed CA for `cluster_id`.
StatusOr<Ca> NewCa(const std::string& cluster_id);

// A certificate for node `node_id` of `cluster_id` carrying
// `public_key_pem`, signed by `ca`. kInvalidArgument if the key or the CA
// does not parse, or the CA is of another cluster.
StatusOr<std::string> SignNodeCert(const Ca& ca, const std::string& cluster_id,
                                   uint64_t node_id,
                                   const std::string& public_key_pem);

// What a node certificate says about its holder.
struct NodeCertInfo {
  std::string cluster_id;  // O=
  uint64_t node_id = 0;    // From CN=node-<id>; 0 if the CN is not of a node.
  std::string common_name;
};
StatusOr<NodeCertInfo> ParseNodeCert(const std::string& cert_pem);

// kOk if `cert_pem` is signed by `ca_cert_pem`'s key and valid now;
// kPermissionDenied saying why not.
Status VerifySignedBy(const std::string& cert_pem,
                      const std::string& ca_cert_pem);

// kOk if `cert_pem` carries the public key of `private_key_pem`.
Status CheckKeyMatches(const std::string& cert_pem,
                       const std::string& private_key_pem);

// SHA-256 of the certificate's DER encoding, 64 lower-case hex digits
// (what `openssl x509 -noout -fingerprint -sha256` prints, without colons).
StatusOr<std::string> Fingerprint(const std::string& cert_pem);

// SHA-256 of `data`, 64 hex digits.
std::string Sha256Hex(const std::string& data);

// HMAC-SHA-256 of `data` under `key`, 32 raw bytes.
std::string HmacSha256(const std::string& key, const std::string& data);

// Lower-case hex of raw bytes.
std::string HexOf(const std::string& raw);

// `bytes` random bytes from the OS's generator, as 2*bytes hex digits.
std::string RandomHex(int bytes);

}  // namespace paxosfs::tls
