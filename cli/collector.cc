#include "cli/collector.h"

#include "common/logging.h"

namespace paxosfs::cli {

using Clock = std::chrono::steady_clock;

Collector::Collector(fuse::Backend* backend, const replica::Driver* driver,
                     std::chrono::milliseconds idle)
    : backend_(backend), driver_(driver), idle_(idle) {
  thread_ = std::thread([this] { Run(); });
}

Collector::~Collector() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool Collector::Due() {
  if (!driver_->status().is_leader) return false;
  if (!reader_) {
    auto reader = backend_->NewReader();
    if (!reader.ok()) return false;
    reader_ = std::move(reader).value();
  }
  StatusOr<bool> garbage = reader_->HasGarbage();
  if (!garbage.ok()) reader_.reset();  // Opened afresh at the next poll.
  return garbage.ok() && *garbage;
}

bool Collector::ReleaseEarlierOrphans() {
  proto::Command release;
  release.mutable_release_orphans();
  StatusOr<proto::Result> r = backend_->Execute(std::move(release));
  if (!r.ok()) {
    Logf(LogLevel::kDebug, "collector", "release of orphans not applied: %s",
         r.status().ToString().c_str());
  }
  return r.ok();
}

void Collector::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    Clock::duration pause = idle_;
    if (!orphans_released_) {
      orphans_released_ = ReleaseEarlierOrphans();
    } else if (Due()) {
      auto start = Clock::now();
      proto::Command collect;
      collect.mutable_collect();
      StatusOr<proto::Result> r = backend_->Execute(std::move(collect));
      if (r.ok()) {
        // Rest as long as the batch took: users' commands get at least
        // half of the log and of every applier while garbage is freed; and
        // three times as long while they use it (more slots were chosen
        // since the last batch than this one), so that a writer behind a
        // large rm waits for a batch only one time in four.
        const uint64_t chosen = driver_->status().chosen_index;
        const bool busy = chosen > chosen_after_batch_ + 1;
        chosen_after_batch_ = chosen;
        pause = (Clock::now() - start) * (busy ? kBusyRest : 1);
      } else {
        Logf(LogLevel::kDebug, "collector", "collect not applied: %s",
             r.status().ToString().c_str());
      }
    }
    lock.lock();
    cv_.wait_for(lock, pause, [this] { return stopping_; });
  }
}

}  // namespace paxosfs::cli
