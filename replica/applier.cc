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
  work_cv_.notify_all();
  space_cv_.notify_all();
  thread_.join();
}

void Applier::Push(uint64_t slot, std::vector<std::string> commands) {
  size_t bytes = 0;
  for (const std::string& c : commands) bytes += c.size();
  std::unique_lock<std::mutex> lock(mu_);
  PAXOSFS_CHECK_MSG(slot == last_pushed_ + 1,
                    "chosen slots pushed out of order");
  // A single slot larger than the bound still goes, alone.
  space_cv_.wait(lock, [&] {
    return stopping_ || queue_.empty() ||
           queue_bytes_ + bytes <= options_.queue_bytes_max;
  });
  last_pushed_ = slot;
  queue_bytes_ += bytes;
  queue_.push_back({slot, std::move(commands), bytes});
  // Only an empty queue can have put the applier to sleep; otherwise it
  // finds this slot when it finishes the current batch.
  if (queue_.size() == 1) work_cv_.notify_one();
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
  return applied_cv_.wait_for(lock, timeout, [&] { return applied_ >= index; });
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
}

bool Applier::TidyIdle(std::unique_lock<std::mutex>& lock) {
  lock.unlock();
  StatusOr<bool> more = sm_->Tidy();
  lock.lock();
  if (!more.ok()) {
    Logf(LogLevel::kWarning, "apply", "tidying the store failed: %s",
         more.status().ToString().c_str());
    return false;
  }
  return *more;
}

void Applier::ApplyFront(std::unique_lock<std::mutex>& lock) {
  // Deque elements stay put while Push appends, so the batch can point
  // into the queue while mu_ is released; only this thread pops.
  std::vector<const std::vector<std::string>*> batch;
  size_t batch_bytes = 0;
  for (const Slot& s : queue_) {
    if (!batch.empty() && (batch.size() >= options_.batch_slots_max ||
                           batch_bytes + s.bytes > options_.batch_bytes_max)) {
      break;
    }
    batch.push_back(&s.commands);
    batch_bytes += s.bytes;
  }
  const uint64_t first = queue_.front().slot;
  lock.unlock();
  StateMachine::BatchResult r = sm_->ApplyBatch(first, batch);
  for (size_t i = 0; i < r.results.size(); ++i) {
    after_apply_(first + i, *batch[i], r.results[i]);
  }
  // The state machine is called from this thread only.
  uint64_t durable = sm_->DurableIndex();
  lock.lock();
  durable_ = durable;
  if (!r.results.empty()) {
    applied_ = first + r.results.size() - 1;
    for (size_t i = 0; i < r.results.size(); ++i) {
      queue_bytes_ -= queue_.front().bytes;
      queue_.pop_front();
    }
    applied_cv_.notify_all();
    space_cv_.notify_all();
  }
  if (!r.status.ok()) {
    if (error_.ok()) {
      Logf(LogLevel::kError, "apply",
           "cannot apply slot %llu: %s; retrying every %d ms (the slot is "
           "never skipped)",
           static_cast<unsigned long long>(applied_ + 1),
           r.status.ToString().c_str(), options_.retry_ms);
    }
    error_ = r.status;
    work_cv_.wait_for(lock, std::chrono::milliseconds(options_.retry_ms),
                      [this] { return stopping_; });
    return;
  }
  if (!error_.ok()) {
    Logf(LogLevel::kInfo, "apply", "applying again from slot %llu",
         static_cast<unsigned long long>(first));
    error_ = Status::Ok();
  }
}

void Applier::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  bool tidy_more = false;
  for (;;) {
    bool work = work_cv_.wait_for(
        lock,
        std::chrono::milliseconds(tidy_more ? options_.tidy_pause_ms
                                            : options_.idle_checkpoint_ms),
        [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    tidy_more = false;
    if (!work) {
      if (!error_.ok()) continue;
      if (durable_ < applied_) {
        CheckpointIdle(lock);
      } else {
        tidy_more = TidyIdle(lock);
      }
      continue;
    }
    ApplyFront(lock);
  }
}

}  // namespace paxosfs::replica
