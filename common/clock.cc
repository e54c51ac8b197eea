#include "common/clock.h"

#include <time.h>

#include "common/check.h"

namespace paxosfs {
namespace {

int64_t ReadClock(clockid_t id) {
  timespec ts;
  PAXOSFS_CHECK(clock_gettime(id, &ts) == 0);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

int64_t SystemClock::MonotonicNanos() const {
  // CLOCK_MONOTONIC stops while the machine is suspended: a leader waking
  // from a suspend would count a lease the others stopped honouring as
  // still held. CLOCK_BOOTTIME keeps counting through it.
  return ReadClock(CLOCK_BOOTTIME);
}

int64_t SystemClock::WallNanos() const { return ReadClock(CLOCK_REALTIME); }

SystemClock& SystemClock::Instance() {
  static SystemClock clock;
  return clock;
}

void ManualClock::Advance(int64_t delta_nanos) {
  PAXOSFS_CHECK(delta_nanos >= 0);
  monotonic_.fetch_add(delta_nanos);
  wall_.fetch_add(delta_nanos);
}

RateClock::RateClock(const Clock* base, int64_t rate_ppm)
    : base_(base),
      base_origin_(base->MonotonicNanos()),
      origin_(base_origin_),
      rate_ppm_(rate_ppm) {
  PAXOSFS_CHECK(rate_ppm > 0);
}

// 128-bit product: a day of nanoseconds times a rate in ppm overflows 64.
int64_t RateClock::ScaledLocked(int64_t base_now) const {
  __int128 elapsed = base_now - base_origin_;
  return origin_ + static_cast<int64_t>(elapsed * rate_ppm_ / 1'000'000);
}

int64_t RateClock::MonotonicNanos() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ScaledLocked(base_->MonotonicNanos());
}

void RateClock::SetRate(int64_t rate_ppm) {
  PAXOSFS_CHECK(rate_ppm > 0);
  std::lock_guard<std::mutex> lock(mu_);
  int64_t base_now = base_->MonotonicNanos();
  origin_ = ScaledLocked(base_now);
  base_origin_ = base_now;
  rate_ppm_ = rate_ppm;
}

int64_t RateClock::rate_ppm() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rate_ppm_;
}

}  // namespace paxosfs
