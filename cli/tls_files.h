// A node's TLS files, in DIR/tls/ (all written with WriteFileDurably, so
// each is created 0600 and is either whole or absent after a crash):
//
//   ca.crt       the cluster's CA certificate (every node)
//   node.crt     this node's certificate, CN=node-<id>, O=<cluster id>
//   node.key     this node's private key (never leaves the node)
//   ca.key       the CA's private key: only on nodes that hold the CA (the
//                founders); they make join tokens and sign joiners' keys
//   used-tokens  tokens this node redeemed (cli/join_service.h)
//
// The directory itself is 0700.
//
// Thread safety: free functions; one writer per data directory.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "tls/certs.h"
#include "tls/credentials.h"

namespace paxosfs::cli {

std::string TlsDir(const std::string& data_dir);

// Creates DIR/tls/ (0700) if missing.
Status CreateTlsDir(const std::string& data_dir);

// Writes one file of DIR/tls/ durably, mode 0600.
Status WriteTlsFile(const std::string& data_dir, const std::string& name,
                    const std::string& contents);

// The node's ca.crt, node.crt and node.key, checked against each other
// and against `cluster_id` / `node_id` (0: unchecked). Errors say which
// file is missing or wrong and what to do.
StatusOr<tls::Material> LoadNodeTls(const std::string& data_dir,
                                    const std::string& cluster_id = "",
                                    uint64_t node_id = 0);

// The CA of a CA-holding node (ca.crt and ca.key of `tls_dir`, which is a
// node's DIR/tls or a directory an admin copied them to). kNotFound if
// `tls_dir` has no ca.key.
StatusOr<tls::Ca> LoadCa(const std::string& tls_dir);

// What `status` and `members` use to reach the cluster: the TLS material
// of the node whose data directory is `data_dir`, and `peer` or, if it is
// empty, that node's own address.
struct AdminAccess {
  tls::Material tls;
  std::string peer;
};
StatusOr<AdminAccess> AdminAccessFrom(const std::string& data_dir,
                                      const std::string& peer);

// For a founder at `init`: installs the CA (a new one for `cluster_id` if
// `ca_from` is empty, else the one in `ca_from`, which must be of that
// cluster), then a new key and a certificate for `node_id`.
Status CreateFounderTls(const std::string& data_dir,
                        const std::string& cluster_id, uint64_t node_id,
                        const std::string& ca_from);

}  // namespace paxosfs::cli
