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

TEST(RateClockTest, Slow_RunsAtItsRate) {
  ManualClock base(1'000'000, 7);
  RateClock c(&base, 992'000);
  EXPECT_EQ(c.MonotonicNanos(), 1'000'000);
  base.Advance(1'000'000'000);
  EXPECT_EQ(c.MonotonicNanos(), 1'000'000 + 992'000'000);
}

TEST(RateClockTest, Fast_RunsAtItsRate) {
  ManualClock base;
  RateClock c(&base, 2'000'000);
  base.Advance(500);
  EXPECT_EQ(c.MonotonicNanos(), 1000);
}

TEST(RateClockTest, Wall_IsTheBaseClocks) {
  ManualClock base(0, 5000);
  RateClock c(&base, 500'000);
  base.Advance(100);
  EXPECT_EQ(c.WallNanos(), 5100);
}

TEST(RateClockTest, SetRate_GoesOnFromWhereItWas) {
  ManualClock base;
  RateClock c(&base, 500'000);
  base.Advance(1000);
  EXPECT_EQ(c.MonotonicNanos(), 500);
  c.SetRate(3'000'000);
  EXPECT_EQ(c.MonotonicNanos(), 500);
  EXPECT_EQ(c.rate_ppm(), 3'000'000);
  base.Advance(1000);
  EXPECT_EQ(c.MonotonicNanos(), 3500);
}

// A hundred days at twice the speed: the product in ppm needs 75 bits.
TEST(RateClockTest, LongRun_DoesNotOverflow) {
  ManualClock base;
  RateClock c(&base, 2'000'000);
  base.Advance(int64_t{86'400} * 1'000'000'000 * 100);
  EXPECT_EQ(c.MonotonicNanos(), int64_t{86'400} * 1'000'000'000 * 200);
}

TEST(RateClockDeathTest, ZeroRateAborts) {
  ManualClock base;
  EXPECT_DEATH(RateClock(&base, 0), "invariant violated");
}

}  // namespace
}  // namespace paxosfs
