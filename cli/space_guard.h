// Admission by free disk space: a node refuses, with ENOSPC and before
// proposing, a command that can grow the data while the file system of its
// data directory has less than a reserve free. The reserve is what the log
// and the SQLite store keep for everything already admitted, for commands
// that free space (unlink, rmdir, rename, shrinking truncate, removexattr,
// punching holes) and for a peer's accepts, so a full disk is a clean
// ENOSPC for writers rather than a log that cannot be written.
//
// Admission is local and approximate: a node checks its own disk only, and
// commands admitted at once may together pass the reserve. A node whose log
// still fills up stops taking part and restarts itself once space is back
// (cli/serve_command.cc).
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "common/status.h"
#include "proto/command.pb.h"

namespace paxosfs::cli {

// The bytes an unprivileged writer may still use on the file system that
// holds `path` (statvfs f_bavail).
StatusOr<uint64_t> FreeBytes(const std::string& path);

// Whether `c` can make the data on disk grow. A size change counts only if
// it extends the file: `current_size` is asked for the inode's size then.
bool GrowsData(
    const proto::Command& c,
    const std::function<StatusOr<uint64_t>(uint64_t ino)>& current_size);

class SpaceGuard {
 public:
  // `reserve_bytes` 0 admits everything. Free space is read at most every
  // `cache_ms`: a statvfs costs about a microsecond, but a burst of small
  // writes need not pay it each; a longer cache lets a fast writer overrun
  // the reserve (1 MiB writes land every few ms).
  SpaceGuard(std::string dir, uint64_t reserve_bytes, int cache_ms = 20);

  // kNoSpace naming the directory and the reserve if `c` grows the data
  // and free space is below the reserve; OK otherwise (also when free space
  // cannot be read: admission is a courtesy, the log stays the judge).
  Status Admit(
      const proto::Command& c,
      const std::function<StatusOr<uint64_t>(uint64_t ino)>& current_size);

  bool BelowReserve();

 private:
  const std::string dir_;
  const uint64_t reserve_bytes_;
  const std::chrono::milliseconds cache_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point read_at_;  // Guarded by mu_.
  uint64_t free_ = UINT64_MAX;                     // Guarded by mu_.
};

}  // namespace paxosfs::cli
