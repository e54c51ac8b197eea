#include "common/clock.h"

#include <gtest/gtest.h>

namespace paxosfs {
namespace {

TEST(SystemClockTest, MonotonicNeverGoesBack) {
  SystemClock& c = SystemClock::Instance();
  int64_t prev = c.MonotonicNanos();
  for (int i = 0; i < 10000; ++i) {
    int64_t now = c.MonotonicNanos();
    ASSERT_GE(now, prev);
    prev = now;
  }
}

TEST(SystemClockTest, WallIsAfter2024) {
  EXPECT_GT(SystemClock::Instance().WallNanos(),
            1'704'067'200LL * 1'000'000'000);
}

TEST(ManualClockTest, Advance_MovesBothClocks) {
  ManualClock c(100, 5000);
  c.Advance(25);
  EXPECT_EQ(c.MonotonicNanos(), 125);
  EXPECT_EQ(c.WallNanos(), 5025);
}

TEST(ManualClockTest, SetWall_LeavesMonotonicAlone) {
  ManualClock c(100, 5000);
  c.SetWall(10);
  EXPECT_EQ(c.WallNanos(), 10);
  EXPECT_EQ(c.MonotonicNanos(), 100);
}

TEST(ManualClockDeathTest, Advance_NegativeAborts) {
  ManualClock c;
  EXPECT_DEATH(c.Advance(-1), "invariant violated");
}

}  // namespace
}  // namespace paxosfs
