// The interface between consensus and what it replicates (compare braft's
// StateMachine in src/braft/raft.h). replica/ calls it; fsm/ implements it
// for the filesystem, the simulation implements it for a small key-value map.
//
// Thread safety: the driver calls Apply, ApplyBatch, Checkpoint and
// AppliedIndex from one applier thread. Implementations document what else may
// run concurrently (readers for the FUSE layer, digest for status).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace paxosfs::replica {

class StateMachine {
 public:
  virtual ~StateMachine() = default;

  // Applies the application commands chosen for `slot`, in order, and
  // returns one encoded result per command. A slot that chose a no-op or a
  // membership change is applied with an empty list, so the applied index
  // still advances one slot at a time.
  //
  // Deterministic: the same slots in the same order give the same state and
  // the same results on every replica. Exactly-once is the implementation's
  // job: a command whose request id was already applied returns the result
  // it returned the first time and changes nothing.
  //
  // REQUIRES: slot == AppliedIndex() + 1.
  // An error (disk full, store corrupt) means the slot was not applied; the
  // caller must not skip it.
  virtual StatusOr<std::vector<std::string>> Apply(
      uint64_t slot, const std::vector<std::string>& commands) = 0;

  // What ApplyBatch applied: the results of each applied slot (a prefix of
  // the batch, in order) and, if the batch stopped short, why.
  struct BatchResult {
    std::vector<std::vector<std::string>> results;
    Status status;
  };

  // Applies consecutive slots first_slot, first_slot + 1, ... (one command
  // list each, as for Apply). Applies a prefix of the batch: all of it, or,
  // when `status` is an error, the first results.size() slots only; the
  // caller retries the rest, never skips them. An implementation may make
  // the whole batch one unit, visible to readers and durable together (the
  // filesystem commits it as one transaction, so an error applies none of
  // it); the default applies slot by slot with Apply.
  //
  // REQUIRES: first_slot == AppliedIndex() + 1; `slots` not empty.
  virtual BatchResult ApplyBatch(
      uint64_t first_slot,
      const std::vector<const std::vector<std::string>*>& slots) {
    BatchResult out;
    for (const std::vector<std::string>* commands : slots) {
      auto results = Apply(first_slot + out.results.size(), *commands);
      if (!results.ok()) {
        out.status = results.status();
        break;
      }
      out.results.push_back(std::move(*results));
    }
    return out;
  }

  // The highest slot whose effects are in the state (0: none).
  virtual uint64_t AppliedIndex() const = 0;

  // The highest slot whose effects are durable. Log entries up to it may be
  // truncated; after a crash the state reopens at exactly this index.
  virtual uint64_t DurableIndex() const = 0;

  // Makes every applied slot durable, atomically with the applied index.
  virtual Status Checkpoint() = 0;

  // Housekeeping of the state's storage, called on the applying thread
  // while no slot waits and every applied slot is durable; changes nothing
  // a reader sees. Returns whether more remains: the applier then calls
  // again soon instead of after its idle period.
  virtual StatusOr<bool> Tidy() { return false; }
};

}  // namespace paxosfs::replica
