#include "replica/log_trim.h"

#include <gtest/gtest.h>

namespace paxosfs::replica {
namespace {

TEST(LogTrimTest, SlotBound_KeepsMarginAndWaitsForAFullStep) {
  LogTrim trim(/*keep_slots=*/100, /*keep_bytes=*/1 << 30,
               /*every_slots=*/50);
  for (uint64_t slot = 1; slot <= 300; ++slot) trim.Pushed(slot, 10);
  // 140 - 100 = 40 slots to drop: less than a step.
  EXPECT_EQ(trim.Through(140, 1), std::nullopt);
  EXPECT_EQ(trim.Through(150, 1), 50u);
  trim.Truncated(50);
  EXPECT_EQ(trim.Through(190, 51), std::nullopt);
  EXPECT_EQ(trim.Through(200, 51), 100u);
}

TEST(LogTrimTest, UnchangedDurableIndex_AnswersNothing) {
  LogTrim trim(10, 1 << 30, 1);
  for (uint64_t slot = 1; slot <= 30; ++slot) trim.Pushed(slot, 1);
  EXPECT_EQ(trim.Through(20, 1), 10u);
  EXPECT_EQ(trim.Through(20, 1), std::nullopt);
}

TEST(LogTrimTest, ByteBound_TruncatesAtOnceKeepingAtMostTheMargin) {
  LogTrim trim(/*keep_slots=*/10000, /*keep_bytes=*/3 << 20,
               /*every_slots=*/1000);
  for (uint64_t slot = 1; slot <= 10; ++slot) trim.Pushed(slot, 1 << 20);
  // Through slot 8 there are 8 MiB: the fewest slots holding more than
  // 3 MiB are 5..8 (6..8 hold only 3 MiB).
  EXPECT_EQ(trim.Through(8, 1), 4u);
  trim.Truncated(4);
  // Slots past the durable index do not count.
  EXPECT_EQ(trim.Through(9, 5), 5u);
}

TEST(LogTrimTest, ByteBound_NothingBelowTheLogsStart) {
  LogTrim trim(10000, 3 << 20, 1000);
  for (uint64_t slot = 1; slot <= 8; ++slot) trim.Pushed(slot, 1 << 20);
  EXPECT_EQ(trim.Through(8, 5), std::nullopt);
}

TEST(LogTrimTest, SmallValues_ByteBoundNeverWins) {
  LogTrim trim(100, 1 << 20, 1000);
  for (uint64_t slot = 1; slot <= 500; ++slot) trim.Pushed(slot, 100);
  // 400 slots past the slot margin, but fewer than a step.
  EXPECT_EQ(trim.Through(500, 1), std::nullopt);
}

}  // namespace
}  // namespace paxosfs::replica
