// `paxosfs init`: creates a node's data directory for a new cluster: its
// TLS files (cli/tls_files.h; the cluster's CA is created here, or copied
// from another founder with --ca-from), identity and genesis log.
#pragma once

#include <cstdint>
#include <string>

namespace paxosfs::cli {

struct InitFlags {
  std::string data_dir;
  std::string cluster_id;  // Empty: a random one is generated.
  uint64_t node_id = 1;
  std::string listen;
  std::string members;  // "1@host:port,2@host:port,..."; empty: this node.
  // A directory holding the cluster's ca.crt and ca.key (another founder's
  // DIR/tls); empty: create a new CA.
  std::string ca_from;
};

// Returns the process exit code; errors go to stderr saying what to do.
int RunInit(const InitFlags& flags);

}  // namespace paxosfs::cli
