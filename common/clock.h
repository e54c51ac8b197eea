// Time sources. Code that needs time takes a Clock so tests and the
// simulation can control it; only SystemClock reads the real clocks.
//
// Two kinds of time: monotonic (durations: leases, timeouts; never jumps) and
// wall (file timestamps stamped by a proposer; may jump). Consensus safety
// depends only on monotonic time, within the drift bound stated in
// replica/README.md.
//
// Thread safety: SystemClock is thread-safe. ManualClock is thread-safe too
// (tests advance it from one thread while daemons read it from others), and
// so is RateClock.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

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

// A monotonic clock that runs at `rate` times the speed of `base`'s (a node
// whose oscillator is fast or slow), for fault tests only: `paxosfs serve`
// builds one from PAXOSFS_TEST_CLOCK_RATE_FILE (cli/test_clock.h). Wall time
// is `base`'s, unscaled: it only stamps file times, which consensus never
// trusts, so skewing it would test nothing and mislabel files.
//
// The rate may change while the clock is read; monotonic time then goes on
// from where it was, at the new rate, so it never jumps and never goes
// back. `base` is not owned and must outlive the clock.
class RateClock final : public Clock {
 public:
  // REQUIRES: rate_ppm > 0 (1'000'000 is base's own speed).
  RateClock(const Clock* base, int64_t rate_ppm);

  int64_t MonotonicNanos() const override;
  int64_t WallNanos() const override { return base_->WallNanos(); }

  // REQUIRES: rate_ppm > 0.
  void SetRate(int64_t rate_ppm);
  int64_t rate_ppm() const;

 private:
  int64_t ScaledLocked(int64_t base_now) const;

  const Clock* const base_;
  mutable std::mutex mu_;
  // Since the last rate change: base's reading then, ours then, the rate.
  int64_t base_origin_;  // Guarded by mu_.
  int64_t origin_;       // Guarded by mu_.
  int64_t rate_ppm_;     // Guarded by mu_.
};

}  // namespace paxosfs
