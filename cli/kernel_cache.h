// When the kernel may cache lookups and attributes of this node's mount,
// and dropping them before a change can complete anywhere.
//
// A node that reads locally (the leader under its lease, a voter holding a
// follower read lease) sees every write before it can be acknowledged: it
// votes for it first. So the kernel may keep what a read reply said while
// (1) the node's read window lasts, and (2) no vote drops it. Voted drops,
// before the vote leaves, the attributes of the inode a by-inode command
// changes, or, for a command that changes names (whose targets are known
// only when applied), every attribute handed out and every cached name.
// Both drops are lock-free in the kernel (Mount::DropCached*), so the
// driver thread can make them without waiting for a FUSE request.
//
// Races: a reply computed before a vote may reach the kernel after it. The
// kernel discards attributes from a request older than the drop of its
// inode, and names from a request older than the latest drop of names
// (its attr_version and epoch). What remains is a reply computed after a
// vote but from state without it: Ticket is taken before the state is
// read and only while nothing voted is unapplied, and Seconds refuses a
// ticket older than the latest vote.
//
// Timeouts end a margin before the read window does: the kernel counts
// them from when it processes the reply, a little after it was computed.
// The same margin bounds the one race the kernel does not guard: a lookup
// reply that brings an inode the kernel does not hold yet carries
// attributes no drop can reach before it lands. So a drop that finds no
// inode, for one handed out less than the margin ago, is retried until the
// inode shows up or the margin has passed.
//
// Thread safety: all methods are thread-safe. Voted runs on the driver
// thread, Applied on the applier's, the rest on FUSE workers.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "fuse/mount.h"
#include "replica/driver.h"

namespace paxosfs::cli {

struct KernelCacheOptions {
  int64_t max_ns = 1'000'000'000;
  // Subtracted from the read window: the time a reply may take to reach the
  // kernel, and the clocks' difference in rate over the window.
  int64_t margin_ns = 100'000'000;
};

class KernelCache {
 public:
  using Window = std::function<replica::LocalReads()>;
  // `window` is the driver's local read window, on `clock`.
  KernelCache(const KernelCacheOptions& options, Window window,
              const Clock* clock, uint64_t applied_index);

  // Where drops go; null: nowhere (no mount, or it stopped).
  void SetMount(fuse::Mount* mount);

  // Before reading what a reply will carry: 0 if it must not be cached.
  uint64_t Ticket();
  // After: how long the kernel may keep that reply's attributes of `ino`
  // and the name it was found under (ino 0: a name found missing); 0 to
  // ask again next time. Records what it allows, for Voted to drop.
  double Seconds(uint64_t ticket, uint64_t ino);

  // This node votes for `slot`; drops what the commands may change.
  void Voted(
      uint64_t slot,
      const std::function<std::optional<std::vector<std::string>>()>& commands);
  void Applied(uint64_t slot);

 private:
  // REQUIRES: mu_ held. The window's end if a reply may be cached now.
  std::optional<int64_t> CacheableUntil(int64_t now) const;
  // Drops `ino`'s attributes from the kernel, waiting for a reply about it
  // handed out at `handed_at` that may not have landed yet.
  void Drop(fuse::Mount* mount, uint64_t ino, int64_t handed_at);

  const KernelCacheOptions options_;
  const Window window_;
  const Clock* const clock_;

  std::mutex mu_;
  fuse::Mount* mount_ = nullptr;  // Guarded by mu_.
  uint64_t voted_ = 0;            // Guarded by mu_.
  uint64_t applied_ = 0;          // Guarded by mu_.
  uint64_t votes_ = 1;            // Guarded by mu_; tickets are vote counts.
  struct Handed {
    int64_t at = 0;     // When the last reply about it was allowed.
    int64_t until = 0;  // Until when the kernel may keep it.
  };
  // Attributes handed out, by inode.
  std::unordered_map<uint64_t, Handed> attrs_;  // Guarded by mu_.
  static constexpr size_t kSweepMin = 4096;
  size_t sweep_at_ = kSweepMin;  // Guarded by mu_.
  int64_t names_until_ = 0;      // Guarded by mu_.
};

}  // namespace paxosfs::cli
