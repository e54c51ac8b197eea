// `paxosfs rebuild`: recovers a node whose log or store is damaged (serve
// refuses to start on it, or a running node halted on it). Offline: the
// node must be stopped. It keeps the node's identity and TLS files, moves
// the damaged log and store aside into DIR/corrupt-<UTC time>/ (evidence is
// never deleted), and gives the node a fresh log: the cluster's
// configuration history (from the leader), a new disk id, and the rebuild
// mark, so the next `serve` installs a peer's snapshot and catches up. A
// node that voted asks to vote again once caught up (DIR/revote,
// cli/promoter.h).
//
// Thread safety: free functions; one caller per data directory.
#pragma once

#include <ctime>
#include <string>

#include "common/status.h"

namespace paxosfs::cli {

struct RebuildFlags {
  std::string data_dir = "/var/lib/paxosfs/main";
  std::string peer;  // Any member, host:port (default: the initial members).
};

// Returns the process exit code; errors go to stderr saying what to do.
int RunRebuild(const RebuildFlags& flags);

// Moves DIR's log directory and store files (state.db, -wal, -shm), those
// that exist, into a new DIR/corrupt-<UTC time of `now`>/ and fsyncs both
// directories. Returns the new directory. kAlreadyExists if it exists.
StatusOr<std::string> MoveDamagedAside(const std::string& dir, time_t now);

// kUnavailable if a process holds DIR's log (a running node).
Status CheckNodeStopped(const std::string& dir);

}  // namespace paxosfs::cli
