// Housekeeping through the log. First, until it is applied, ReleaseOrphans:
// files this node's earlier processes kept for their open handles
// (fuse/open_files.h) are freed. Then it frees removed files' chunks in
// the background: while this node leads and
// the store holds garbage (fsm/commands.h, kFreeAtOnceBytes), it proposes
// Collect commands one after another, each freeing a bounded batch on every
// replica. Through the log, so every replica frees the same chunks at the
// same slot (their digests stay equal); one at a time, so a user's command
// waits behind at most one batch instead of a whole large file; resting
// between batches, longer while users' commands flow.
//
// Thread safety: owns one thread; construct and destroy from one thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "fuse/backend.h"
#include "replica/driver.h"

namespace paxosfs::cli {

class Collector {
 public:
  // `backend` and `driver` must outlive this object. `idle` is how often it
  // looks for garbage while there is none.
  Collector(fuse::Backend* backend, const replica::Driver* driver,
            std::chrono::milliseconds idle = std::chrono::milliseconds(200));
  ~Collector();

 private:
  void Run();
  // Whether this node leads and its applied state holds garbage.
  bool Due();
  // True once a ReleaseOrphans of this process was applied.
  bool ReleaseEarlierOrphans();

  fuse::Backend* const backend_;
  const replica::Driver* const driver_;
  // How many times a batch's time it rests while users' commands flow.
  static constexpr int kBusyRest = 3;

  const std::chrono::milliseconds idle_;
  uint64_t chosen_after_batch_ = 0;  // The chosen index after the last batch.
  bool orphans_released_ = false;
  // Kept across polls (opening one is a SQLite connection); the collector
  // thread's only.
  std::unique_ptr<fsm::Reader> reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // Guarded by mu_.
  std::thread thread_;
};

}  // namespace paxosfs::cli
