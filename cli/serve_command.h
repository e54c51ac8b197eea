// `paxosfs serve`: runs one node in the foreground until SIGINT or SIGTERM:
// the consensus driver, the peer, admin and snapshot services, the state
// machine applier and (unless --no-mount) the FUSE mount.
//
// A node marked for a rebuild (cli/rebuild.h) first installs a peer's
// snapshot. A running node that learns it fell behind its peers' truncated
// logs marks itself, stops everything and executes itself again, so the
// rebuild happens in the same process id (what systemd and tests watch).
#pragma once

#include <string>

#include "common/status.h"

namespace paxosfs::cli {

struct ServeFlags {
  std::string data_dir;
  std::string mount_point;  // Empty with no_mount.
  bool no_mount = false;
  bool verbose = false;
  // Ask the leader to make this node a voter once it has caught up (set by
  // `paxosfs join --voter`).
  bool promote = false;
  // Bound on the bytes/s this node sends as snapshots, so a joining node
  // cannot starve the log's fsyncs; 0: unbounded.
  uint64_t snapshot_rate_mib = 64;
  // Log entries kept below the store's checkpoint, so a briefly lagging
  // peer catches up from the log rather than from a snapshot.
  uint64_t log_keep_slots = 10000;
  // ... and at most this many MiB of them, whichever keeps less.
  uint64_t log_keep_mib = 1024;
  // Commands that grow the data get ENOSPC while less than this is free on
  // the data directory's file system (cli/space_guard.h); 0: no reserve.
  // 256 MiB holds what admitted writes still need on this node (the
  // applier's queue is bounded at 512 MiB, but it drains as fast as it
  // fills), peers' accepts (a follower's disk may be fuller than the
  // leader's) and SQLite's room to delete files.
  uint64_t reserve_mib = 256;
};

// Returns the process exit code; errors go to stderr saying what to do.
int RunServe(const ServeFlags& flags);

// The mount point of `flags` is usable (fuse::CheckMountPointEarly), or
// `no_mount` is set: checked before a command starts anything.
Status CheckMountFlags(const ServeFlags& flags);

}  // namespace paxosfs::cli
