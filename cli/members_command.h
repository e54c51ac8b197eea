// `paxosfs members`: lists the cluster's members, and changes them one at a
// time through the log (add a learner, promote, demote, remove). Changes
// that would leave the new configuration without a reachable majority of
// voters, or promote a node that is down or far behind, are refused unless
// forced.
#pragma once

#include <cstdint>
#include <string>

namespace paxosfs::cli {

struct MembersFlags {
  // A node's data directory: its TLS files authenticate us (tls_files.h).
  std::string data_dir = "/var/lib/paxosfs/main";
  std::string peer;     // Any member's peer service, host:port.
  std::string action;   // "", "add", "promote", "demote" or "remove".
  uint64_t node = 0;    // promote, demote, remove.
  std::string address;  // add.
  bool force = false;
  int timeout_ms = 30'000;
};

// Returns the process exit code; errors go to stderr saying what to do.
int RunMembers(const MembersFlags& flags);

}  // namespace paxosfs::cli
