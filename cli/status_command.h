// `paxosfs status`: asks one node for its view, then every member it knows
// for theirs, and prints the cluster as a table (or JSON).
#pragma once

#include <string>

namespace paxosfs::cli {

struct StatusFlags {
  // A node's data directory: its TLS files authenticate us (tls_files.h).
  std::string data_dir = "/var/lib/paxosfs/main";
  std::string peer;  // host:port of any member's peer/admin service.
  bool json = false;
  // Each member hashes its whole store for the digest: seconds per GiB.
  int timeout_ms = 10000;
};

// Returns the process exit code: 0 if every member answered, 1 if the
// contacted node did not, 2 if some member did not.
int RunStatus(const StatusFlags& flags);

}  // namespace paxosfs::cli
