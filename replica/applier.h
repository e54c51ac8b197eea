// Applies chosen slots to the StateMachine strictly in slot order, on its
// own thread, so the consensus driver never waits for the store.
//
// The driver pushes each chosen slot once, in order (REQUIRES: consecutive
// slots starting at the state machine's AppliedIndex() + 1). Slots that
// queued up while the previous batch was applied go to the state machine
// together (ApplyBatch; bounded by `batch_slots_max` and `batch_bytes_max`),
// which the filesystem commits as one transaction. Only after a batch
// returns does the `after_apply` hook see each of its slots' commands and
// results, in slot order, and applied_index() move past them: the node uses
// the hook to complete waiting proposers, who then read their own writes.
//
// An Apply error (disk full, store corrupt) stops applying: the slot is
// never skipped. The error is reported by error() and the applier retries
// the same slot every `retry_ms`, so a disk that regains space resumes.
//
// Thread safety: all public methods are thread-safe. The hook runs on the
// applier thread and must not call back into the Applier.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "replica/state_machine.h"

namespace paxosfs::replica {

class Applier {
 public:
  using AfterApply = std::function<void(
      uint64_t slot, const std::vector<std::string>& commands,
      const std::vector<std::string>& results)>;

  struct Options {
    // Bound on chosen-but-unapplied commands held in memory; Push blocks
    // beyond it, which slows the driver down to what the store can take.
    size_t queue_bytes_max = 512 << 20;
    // Bounds on one ApplyBatch (a single larger slot still goes, alone):
    // they cap the transaction, and how long the first slot's proposer
    // waits for the last one's.
    size_t batch_slots_max = 64;
    size_t batch_bytes_max = 4 << 20;
    int retry_ms = 500;
    // After this long without a slot to apply, the state machine is asked
    // to Checkpoint, so the last slots of a burst become durable (and the
    // log can be truncated behind them) without waiting for more writes.
    int idle_checkpoint_ms = 1000;
    // While the state machine's Tidy says more remains, the next call comes
    // after this pause (if still no slot waits) rather than after a whole
    // idle period.
    int tidy_pause_ms = 10;
  };

  Applier(StateMachine* sm, Options options, AfterApply after_apply);
  ~Applier();  // Stops the thread; unapplied slots stay unapplied.
  Applier(const Applier&) = delete;
  Applier& operator=(const Applier&) = delete;

  // Queues a chosen slot. REQUIRES: slot == last pushed (or applied) + 1.
  void Push(uint64_t slot, std::vector<std::string> commands);

  uint64_t applied_index() const;
  // The state machine's DurableIndex() as of the last applied slot.
  uint64_t durable_index() const;
  // The first Apply error not yet overcome, or OK.
  Status error() const;

  // Waits until applied_index() >= index. False on timeout.
  bool WaitApplied(uint64_t index, std::chrono::milliseconds timeout) const;

 private:
  struct Slot {
    uint64_t slot;
    std::vector<std::string> commands;
    size_t bytes;
  };
  void Run();
  // Applies the queue's first slots as one batch and reports them.
  // REQUIRES: `lock` holds mu_ and the queue is not empty; released while
  // the state machine works.
  void ApplyFront(std::unique_lock<std::mutex>& lock);
  // REQUIRES: `lock` holds mu_; released while the state machine works.
  void CheckpointIdle(std::unique_lock<std::mutex>& lock);
  // Calls the state machine's Tidy; returns whether more remains.
  // REQUIRES: as CheckpointIdle.
  bool TidyIdle(std::unique_lock<std::mutex>& lock);

  StateMachine* const sm_;
  const Options options_;
  const AfterApply after_apply_;

  mutable std::mutex mu_;
  // One variable per condition, so a push wakes the applier only and
  // progress wakes only those who wait for it.
  std::condition_variable work_cv_;             // Queue non-empty or stopping.
  std::condition_variable space_cv_;            // Queue bytes went down.
  mutable std::condition_variable applied_cv_;  // applied_ moved.
  std::deque<Slot> queue_;                      // Guarded by mu_.
  size_t queue_bytes_ = 0;                      // Guarded by mu_.
  uint64_t last_pushed_ = 0;                    // Guarded by mu_.
  uint64_t applied_ = 0;                        // Guarded by mu_.
  uint64_t durable_ = 0;                        // Guarded by mu_.
  Status error_;                                // Guarded by mu_.
  bool stopping_ = false;                       // Guarded by mu_.
  std::thread thread_;
};

}  // namespace paxosfs::replica
