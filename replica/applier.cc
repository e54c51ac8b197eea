#include "replica/applier.h"

#include <pthread.h>

#include "common/logging.h"

namespace paxosfs::replica {

Applier::Applier(StateMachine* sm, Options options, AfterApply after_apply)
    : sm_(sm), options_(options), after_apply_(std::move(after_apply)) {
  applied_ = sm_->AppliedIndex();
  durable_ = sm_->DurableIndex();
  last_pushed_ = applied_;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "applier");
    Run();
  });
}

Applier::~Applier() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Applier::Push(uint64_t slot, std::vector<std::string> commands) {
  size_t bytes = 0;
  for (const std::string& c : commands) bytes += c.size();
  std::unique_lock<std::mutex> lock(mu_);
  PAXOSFS_CHECK_MSG(slot == last_pushed_ + 1,
                    "chosen slots pushed out of order");
  // A single slot larger than the bound still goes, alone.
  cv_.wait(lock, [&] {
    return stopping_ || queue_.empty() ||
           queue_bytes_ + bytes <= options_.queue_bytes_max;
  });
  last_pushed_ = slot;
  queue_bytes_ += bytes;
  queue_.push_back({slot, std::move(commands), bytes});
  cv_.notify_all();
}

uint64_t Applier::applied_index() const {
  std::lock_guard<std::mutex> lock(mu_);
  return applied_;
}

uint64_t Applier::durable_index() const {
  std::lock_guard<std::mutex> lock(mu_);
  return durable_;
}

Status Applier::error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return error_;
}

bool Applier::WaitApplied(uint64_t index,
                          std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return applied_ >= index; });
}

void Applier::CheckpointIdle(std::unique_lock<std::mutex>& lock) {
  lock.unlock();
  Status s = sm_->Checkpoint();
  uint64_t durable = sm_->DurableIndex();
  lock.lock();
  // Not fatal: the log still holds every slot above the durable index, and
  // the next apply or idle period tries again.
  if (!s.ok()) {
    Logf(LogLevel::kWarning, "apply", "checkpoint failed: %s",
         s.ToString().c_str());
  }
  durable_ = durable;
  cv_.notify_all();
}

void Applier::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    bool work = cv_.wait_for(
        lock, std::chrono::milliseconds(options_.idle_checkpoint_ms),
        [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    if (!work) {
      if (durable_ < applied_ && error_.ok()) CheckpointIdle(lock);
      continue;
    }
    Slot& next = queue_.front();
    lock.unlock();
    auto results = sm_->Apply(next.slot, next.commands);
    if (results.ok()) after_apply_(next.slot, next.commands, *results);
    // The state machine is called from this thread only.
    uint64_t durable = sm_->DurableIndex();
    lock.lock();
    durable_ = durable;
    if (!results.ok()) {
      if (error_.ok()) {
        Logf(LogLevel::kError, "apply",
             "cannot apply slot %llu: %s; retrying every %d ms (the slot is "
             "never skipped)",
             static_cast<unsigned long long>(next.slot),
             results.status().ToString().c_str(), options_.retry_ms);
      }
      error_ = results.status();
      cv_.wait_for(lock, std::chrono::milliseconds(options_.retry_ms),
                   [this] { return stopping_; });
      continue;
    }
    if (!error_.ok()) {
      Logf(LogLevel::kInfo, "apply", "applying again from slot %llu",
           static_cast<unsigned long long>(next.slot));
      error_ = Status::Ok();
    }
    applied_ = next.slot;
    queue_bytes_ -= next.bytes;
    queue_.pop_front();
    cv_.notify_all();
  }
}

}  // namespace paxosfs::replica
