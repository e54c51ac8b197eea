#include "cli/kernel_cache.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "proto/command.pb.h"

namespace paxosfs::cli {
namespace {

// The inode whose attributes `command` changes, if it changes no name;
// nullopt if it may change names (or cannot be read); 0 if it changes
// nothing a lookup or stat shows.
std::optional<uint64_t> AttrsOnlyTarget(const std::string& encoded) {
  proto::Command c;
  if (!c.ParseFromString(encoded)) return std::nullopt;
  switch (c.op_case()) {
    case proto::Command::kSetattr:
      return c.setattr().inode();
    case proto::Command::kWrite:
      return c.write().inode();
    case proto::Command::kFallocate:
      return c.fallocate().inode();
    case proto::Command::kSetxattr:
      return c.setxattr().inode();
    case proto::Command::kRemovexattr:
      return c.removexattr().inode();
    case proto::Command::kRelease:
      return c.release().inode();
    case proto::Command::kNoop:
    case proto::Command::kCollect:
    case proto::Command::kReleaseOrphans:  // Only nameless inodes.
      return 0;
    default:
      return std::nullopt;
  }
}

}  // namespace

KernelCache::KernelCache(const KernelCacheOptions& options, Window window,
                         const Clock* clock, uint64_t applied_index)
    : options_(options),
      window_(std::move(window)),
      clock_(clock),
      voted_(applied_index),
      applied_(applied_index) {}

void KernelCache::SetMount(fuse::Mount* mount) {
  std::lock_guard<std::mutex> lock(mu_);
  mount_ = mount;
}

std::optional<int64_t> KernelCache::CacheableUntil(int64_t now) const {
  if (mount_ == nullptr || voted_ > applied_) return std::nullopt;
  replica::LocalReads reads = window_();
  int64_t until =
      std::min(reads.until_ns - options_.margin_ns, now + options_.max_ns);
  if (reads.index > applied_ || until <= now) return std::nullopt;
  return until;
}

uint64_t KernelCache::Ticket() {
  int64_t now = clock_->MonotonicNanos();
  std::lock_guard<std::mutex> lock(mu_);
  return CacheableUntil(now) ? votes_ : 0;
}

double KernelCache::Seconds(uint64_t ticket, uint64_t ino) {
  int64_t now = clock_->MonotonicNanos();
  std::lock_guard<std::mutex> lock(mu_);
  if (ticket != votes_) return 0;
  std::optional<int64_t> until = CacheableUntil(now);
  if (!until) return 0;
  if (ino != 0) {
    // Without votes nothing leaves attrs_: sweep what the kernel dropped by
    // itself once the map doubled.
    if (attrs_.size() >= sweep_at_) {
      std::erase_if(attrs_, [&](const auto& kept) {
        return kept.second.until + options_.margin_ns < now;
      });
      sweep_at_ = std::max<size_t>(kSweepMin, 2 * attrs_.size());
    }
    Handed& kept = attrs_[ino];
    kept.at = now;
    kept.until = std::max(kept.until, *until);
  }
  names_until_ = std::max(names_until_, *until);
  return static_cast<double>(*until - now) / 1e9;
}

void KernelCache::Voted(
    uint64_t slot,
    const std::function<std::optional<std::vector<std::string>>()>& commands) {
  int64_t now = clock_->MonotonicNanos();
  std::vector<std::pair<uint64_t, Handed>> attrs;
  bool names = false;
  int64_t names_kept_until = 0;
  fuse::Mount* mount;
  {
    std::lock_guard<std::mutex> lock(mu_);
    voted_ = std::max(voted_, slot);
    ++votes_;
    mount = mount_;
    // Nothing handed out is still kept (a reply may reach the kernel up to
    // the margin late): nothing to decode.
    if (mount == nullptr ||
        (attrs_.empty() && names_until_ + options_.margin_ns < now)) {
      return;
    }
    std::optional<std::vector<std::string>> decoded = commands();
    bool all = !decoded;
    for (size_t i = 0; !all && i < decoded->size(); ++i) {
      std::optional<uint64_t> target = AttrsOnlyTarget((*decoded)[i]);
      if (!target) {
        all = true;
        continue;
      }
      auto it = attrs_.find(*target);
      if (it == attrs_.end()) continue;
      if (it->second.until + options_.margin_ns >= now) attrs.push_back(*it);
      attrs_.erase(it);
    }
    if (all) {
      // Inodes of earlier by-inode commands in this value are already in
      // `attrs` (and out of attrs_).
      for (const auto& kept : attrs_) {
        if (kept.second.until + options_.margin_ns >= now) {
          attrs.push_back(kept);
        }
      }
      attrs_.clear();
      names_kept_until = names_until_ + options_.margin_ns;
      names = names_kept_until >= now;
      names_until_ = 0;
    }
  }
  // Outside mu_ (readers need not wait for the kernel), and still before
  // the vote leaves: the driver thread is blocked here.
  for (const auto& [ino, handed] : attrs) Drop(mount, ino, handed.at);
  if (names && !mount->DropCachedEntries()) {
    // Names the kernel would not drop must time out before the vote leaves.
    while (clock_->MonotonicNanos() < names_kept_until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
}

void KernelCache::Drop(fuse::Mount* mount, uint64_t ino, int64_t handed_at) {
  while (!mount->DropCachedAttrs(ino) &&
         clock_->MonotonicNanos() - handed_at < options_.margin_ns) {
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

void KernelCache::Applied(uint64_t slot) {
  std::lock_guard<std::mutex> lock(mu_);
  applied_ = std::max(applied_, slot);
}

}  // namespace paxosfs::cli
