// When an open may keep the kernel's cached pages of a file.
//
// Without FOPEN_KEEP_CACHE the kernel drops a file's cached pages at every
// open, so each re-read of an unchanged file crosses into the daemon again.
// Keeping them is safe when no change to the file's data was applied on
// this node since those pages could have been read:
//
// - DataVersions (the backend's side) gives each inode a version that
//   grows whenever a change to its data (write, truncate, fallocate, from
//   any node) is applied here. It is updated after the change is committed
//   and before the applied index moves past it, so after an open's read
//   barrier it covers every change the barrier covers.
// - OpenVersions (the mount's side) remembers the version each inode had at
//   its last open. An open keeps the cache only if the version is the same:
//   every page cached since then was read from state with exactly that
//   data. Otherwise the kernel drops the pages (as it always did), and
//   pages read later come from state at least that new.
//
// Changes applied while a file is open are the invalidation queue's job
// (Mount::InvalidateInode), as before; OpenVersions also says which inodes
// can have cached pages at all (some open of them read through the page
// cache: a read-only one, as writable opens use direct I/O), so that
// writes to the others skip the queue. Both maps are bounded: when one
// fills, it is cleared; DataVersions then raises the version of every inode
// it forgot (to the newest slot it saw), and OpenVersions says from then on
// that every inode may have pages, so forgetting costs dropped caches and
// invalidations, never a stale page.
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "proto/command.pb.h"

namespace paxosfs::fuse {

inline constexpr size_t kPageCacheVersionsMax = size_t{1} << 16;

// The inode whose data `command` may change (a write, a truncate, a
// fallocate), or 0.
uint64_t DataChanged(const proto::Command& command);

class DataVersions {
 public:
  // `max` bounds how many inodes it tracks.
  explicit DataVersions(size_t max = kPageCacheVersionsMax) : max_(max) {}

  // `command` was applied in `slot` (slots only grow) and is committed.
  void Applied(uint64_t slot, const proto::Command& command);
  // Never 0; grows whenever the data of `ino` changes.
  uint64_t Get(uint64_t ino) const;

 private:
  const size_t max_;
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, uint64_t> changed_;  // Guarded by mu_.
  // What an inode not in changed_ has; raised when changed_ is cleared.
  uint64_t floor_ = 1;  // Guarded by mu_.
};

class OpenVersions {
 public:
  explicit OpenVersions(size_t max = kPageCacheVersionsMax) : max_(max) {}

  // At an open of `ino` whose data version is now `version` (0: unknown),
  // before its reply: whether the kernel may keep the pages it cached.
  // Records `version`, and whether this open reads through the page cache
  // (`cached`, not direct I/O).
  bool Keep(uint64_t ino, uint64_t version, bool cached);
  // Whether the kernel may hold pages of `ino`.
  bool MayHavePages(uint64_t ino);

 private:
  struct Opened {
    uint64_t version = 0;
    bool cached = false;  // Some open of it read through the page cache.
  };
  const size_t max_;
  std::mutex mu_;
  std::unordered_map<uint64_t, Opened> opened_;  // Guarded by mu_.
  bool forgot_ = false;  // Guarded by mu_: opened_ was ever cleared.
};

}  // namespace paxosfs::fuse
