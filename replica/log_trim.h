#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

namespace paxosfs::replica {

// Decides how far the log's prefix may go once the state machine made a
// slot durable. Below the durable index the log keeps, for lagging peers,
// `keep_slots` slots or the fewest slots holding more than `keep_bytes` bytes
// of values, whichever keeps less. The slot bound truncates in steps of
// `every_slots` (each truncation syncs the log); the byte bound at once, since
// 1 MiB writes would otherwise fill the disk long before the slot bound is met.
// Bytes are counted for slots pushed since the process started.
class LogTrim {
 public:
  LogTrim(uint64_t keep_slots, uint64_t keep_bytes, uint64_t every_slots)
      : keep_slots_(keep_slots),
        keep_bytes_(keep_bytes),
        every_slots_(every_slots) {}

  // A chosen value of `bytes` bytes went to the state machine, in slot order.
  void Pushed(uint64_t slot, uint64_t bytes);
  // The last slot to drop now that `durable` is durable and the log starts
  // at `first_slot`, or nullopt to keep everything. The durable index moves
  // only at the store's checkpoints, so an unchanged one answers at once.
  std::optional<uint64_t> Through(uint64_t durable, uint64_t first_slot);
  // The log no longer holds slots up to `through`.
  void Truncated(uint64_t through);

 private:
  // The last slot with more than keep_bytes_ of values after it, up to
  // `durable`; 0 if there is none.
  uint64_t ThroughByteMargin(uint64_t durable) const;

  const uint64_t keep_slots_;
  const uint64_t keep_bytes_;
  const uint64_t every_slots_;
  // (slot, bytes pushed through it since start), in slot order, from the
  // oldest slot still in the log.
  std::deque<std::pair<uint64_t, uint64_t>> pushed_;
  uint64_t total_ = 0;
  uint64_t last_durable_ = 0;
};

}  // namespace paxosfs::replica
