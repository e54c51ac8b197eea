// The FUSE mount of one node: serves the kernel's requests for a mount
// point from a Backend, on a pool of libfuse worker threads.
//
// Consistency: lookups and stats may be cached by the kernel only for as
// long as the Backend allows (CacheSeconds), and the Backend drops them
// (DropCached*) before any change to them can complete; opens keep the
// page cache only while the file's data is unchanged (page_cache.h). When
// the node applies a change made elsewhere,
// Invalidate* drops what the kernel may still hold for already-open files.
// See fuse/README.md.
//
// Thread safety: Invalidate* may be called from any thread (they queue the
// work for a dedicated thread: calling into the kernel from the applier
// could deadlock against a FUSE write waiting for that applier). Stop and
// the destructor must not race with each other.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "fuse/backend.h"

namespace paxosfs::fuse {

struct MountOptions {
  std::string mount_point;
  // Lets users other than the one running the daemon use the mount; the
  // kernel then checks mode bits itself (default_permissions).
  bool allow_other = true;
  int max_threads = 64;
  const Clock* clock = &SystemClock::Instance();
};

class Mount {
 public:
  // Mounts and starts serving. Before mounting, a stale mount left at
  // `mount_point` by a killed process is detached. Errors name the mount
  // point and say what to do (missing, not a directory, not empty, in use).
  static StatusOr<std::unique_ptr<Mount>> Start(const MountOptions& options,
                                                Backend* backend);

  virtual ~Mount() = default;

  // Unmounts and waits for the worker threads. Idempotent.
  virtual void Stop() = 0;

  // Drops cached data of `ino` in [offset, offset+length) (length 0: to the
  // end) and its cached attributes; nothing if no open of it on this mount
  // read through the page cache (page_cache.h: the kernel then holds no
  // data of it, and a Backend that lets attributes be cached drops them
  // itself before any change completes).
  virtual void InvalidateInode(uint64_t ino, int64_t offset,
                               int64_t length) = 0;
  // Drops the kernel's cached entry `name` in directory `parent`.
  virtual void InvalidateEntry(uint64_t parent, const std::string& name) = 0;

  // Drop what the kernel caches under the timeouts of Backend::CacheSeconds,
  // on the caller's thread, before returning: the attributes of `ino`, and
  // every name it looked up (positive and negative). Unlike Invalidate*,
  // these take no inode lock in the kernel, so they cannot wait for a FUSE
  // request in flight and are safe on any thread. After Stop: no-ops.
  // DropCachedAttrs returns false if the kernel holds no inode `ino` (yet:
  // a lookup reply may still bring it), true otherwise. DropCachedEntries
  // returns false if the kernel refused: names it holds then last until
  // their timeouts end, and no names are cached from then on.
  virtual bool DropCachedAttrs(uint64_t ino) = 0;
  virtual bool DropCachedEntries() = 0;
};

// What Mount::Start checks before mounting: a stale mount at `path` is
// detached, then `path` must be an existing, empty directory nothing else
// is mounted on. Errors name the path and say what to do.
Status PrepareMountPoint(const std::string& path);

// The same, for callers that refuse a bad mount point before doing anything
// else, except that a stale mount stays (Mount::Start replaces it): until
// then, the directory under it answers ENOTCONN instead of taking writes
// that the next mount would hide (a node rebuilding itself takes minutes).
Status CheckMountPointEarly(const std::string& path);

}  // namespace paxosfs::fuse
