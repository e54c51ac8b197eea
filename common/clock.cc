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
  return ReadClock(CLOCK_MONOTONIC);
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

}  // namespace paxosfs
