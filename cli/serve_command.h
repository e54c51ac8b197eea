// `paxosfs serve`: runs one node in the foreground until SIGINT or SIGTERM:
// the consensus driver, the peer and admin services, the state machine
// applier and (unless --no-mount) the FUSE mount.
#pragma once

#include <string>

namespace paxosfs::cli {

struct ServeFlags {
  std::string data_dir;
  std::string mount_point;  // Empty with no_mount.
  bool no_mount = false;
  bool verbose = false;
};

// Returns the process exit code; errors go to stderr saying what to do.
int RunServe(const ServeFlags& flags);

}  // namespace paxosfs::cli
