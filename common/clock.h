// Time sources. Code that needs time takes a Clock so tests and the
// simulation can control it; only SystemClock reads the real clocks.
//
// Two kinds of time: monotonic (durations: leases, timeouts; never jumps) and
// wall (file timestamps stamped by a proposer; may jump). Consensus safety
// depends only on monotonic time, within the drift bound stated in
// replica/README.md.
//
// Thread safety: SystemClock is thread-safe. ManualClock is thread-safe too
// (tests advance it from one thread while daemons read it from others).
#pragma once

#include <atomic>
#include <cstdint>

namespace paxosfs {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t MonotonicNanos() const = 0;
  virtual int64_t WallNanos() const = 0;  // Nanoseconds since the Unix epoch.
};

class SystemClock final : public Clock {
 public:
  int64_t MonotonicNanos() const override;
  int64_t WallNanos() const override;
  static SystemClock& Instance();
};

// A clock that moves only when told to. Monotonic time never goes back.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t monotonic_nanos = 0, int64_t wall_nanos = 0)
      : monotonic_(monotonic_nanos), wall_(wall_nanos) {}

  int64_t MonotonicNanos() const override { return monotonic_.load(); }
  int64_t WallNanos() const override { return wall_.load(); }

  // REQUIRES: delta_nanos >= 0. Advances both clocks.
  void Advance(int64_t delta_nanos);
  // Sets the wall clock alone (it may jump either way, as real ones do).
  void SetWall(int64_t wall_nanos) { wall_.store(wall_nanos); }

 private:
  std::atomic<int64_t> monotonic_;
  std::atomic<int64_t> wall_;
};

}  // namespace paxosfs
