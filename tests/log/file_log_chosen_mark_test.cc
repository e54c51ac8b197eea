// FileLog's chosen marks: a chosen entry whose ballot and value equal the
// slot's latest record is written as a small mark, not as a second copy of
// the value; callers see the same entries either way.
#include <gtest/gtest.h>

#include <thread>

#include "log_test_util.h"

namespace paxosfs::log {
namespace {

constexpr uint64_t kMarkBytes = kRecordHeaderBytes + kChosenMarkPayloadBytes;
// Small segments, so that a 500-byte record and its mark do not share one.
const FileLogOptions kSmallSegments{.segment_bytes_max = 1024};

Entry Chosen(Entry e) {
  e.chosen = true;
  return e;
}

class FileLogChosenMarkTest : public ::testing::Test {
 protected:
  uint64_t SegmentSize(uint64_t sequence) {
    StatusOr<uint64_t> size = env_.GetFileSize(SegmentPathIn(kDir, sequence));
    return size.ok() ? *size : 0;
  }
  bool SegmentExists(uint64_t sequence) {
    return env_.GetFileSize(SegmentPathIn(kDir, sequence)).ok();
  }
  // Appends `entries` in one batch and syncs; returns the bytes written.
  uint64_t AppendSynced(Log& log, std::vector<Entry> entries) {
    uint64_t before = SegmentSize(1);
    EXPECT_TRUE(log.Append(entries).ok());
    EXPECT_TRUE(log.Sync().ok());
    return SegmentSize(1) - before;
  }

  FaultInjectionEnv env_;
};

TEST_F(FileLogChosenMarkTest, Append_ChosenSameBallotAndValue_WritesMarkOnly) {
  const Entry accepted = MakeEntry(1, 2, false, 4096);
  {
    std::unique_ptr<Log> log = MustOpen(&env_);
    AppendSynced(*log, {accepted});
    ASSERT_TRUE(AppendOne(*log, Chosen(accepted)).ok());
    EXPECT_EQ(*log->Get(1), Chosen(accepted));  // Still buffered.
    uint64_t before = SegmentSize(1);
    ASSERT_TRUE(log->Sync().ok());
    EXPECT_EQ(SegmentSize(1) - before, kMarkBytes);
    EXPECT_EQ(*log->Get(1), Chosen(accepted));
  }
  std::unique_ptr<Log> log = MustOpen(&env_);
  EXPECT_EQ(*log->Get(1), Chosen(accepted));
}

// Anything but the same ballot and the same value is written in full.
TEST_F(FileLogChosenMarkTest, Append_ChosenBallotOrValueDiffers_WrittenInFull) {
  const Entry accepted = MakeEntry(1, 2, false, 300);
  Entry other_round = Chosen(accepted);
  other_round.ballot_round = 3;
  Entry other_node = Chosen(accepted);
  other_node.ballot_node = 2;
  Entry other_bytes = Chosen(accepted);  // Same length, one byte changed.
  other_bytes.value[150] ^= 1;
  Entry other_length = Chosen(accepted);
  other_length.value.pop_back();
  for (const Entry& chosen :
       {other_round, other_node, other_bytes, other_length}) {
    FaultInjectionEnv env;
    {
      std::unique_ptr<Log> log = MustOpen(&env);
      ASSERT_TRUE(AppendOne(*log, accepted).ok());
      ASSERT_TRUE(log->Sync().ok());
      uint64_t before = *env.GetFileSize(SegmentPathIn(kDir, 1));
      ASSERT_TRUE(AppendOne(*log, chosen).ok());
      ASSERT_TRUE(log->Sync().ok());
      EXPECT_EQ(*env.GetFileSize(SegmentPathIn(kDir, 1)) - before,
                EntryRecordBytes(chosen));
    }
    std::unique_ptr<Log> log = MustOpen(&env);
    EXPECT_EQ(*log->Get(1), chosen);
  }
}

TEST_F(FileLogChosenMarkTest, Append_AcceptedAndChosenInOneBatch_WritesMark) {
  const Entry accepted = MakeEntry(1, 2, false, 300);
  {
    std::unique_ptr<Log> log = MustOpen(&env_);
    EXPECT_EQ(AppendSynced(*log, {accepted, Chosen(accepted)}),
              EntryRecordBytes(accepted) + kMarkBytes);
  }
  std::unique_ptr<Log> log = MustOpen(&env_);
  EXPECT_EQ(*log->Get(1), Chosen(accepted));
}

// The mark carries the value's checksum, so the check that a chosen value
// never changes holds after a reopen too.
TEST_F(FileLogChosenMarkTest, Reopen_MarkedSlot_ChosenValueStillChecked) {
  const Entry accepted = MakeEntry(1, 2);
  {
    std::unique_ptr<Log> log = MustOpen(&env_);
    AppendSynced(*log, {accepted});
    EXPECT_EQ(AppendSynced(*log, {Chosen(accepted)}), kMarkBytes);
  }
  std::unique_ptr<Log> log = MustOpen(&env_);
  EXPECT_DEATH((void)AppendOne(*log, Chosen(MakeEntry(1, 3))), "another value");
  EXPECT_DEATH((void)AppendOne(*log, accepted), "not chosen");
}

TEST_F(FileLogChosenMarkTest, Mark_InNextSegment_SurvivesReopen) {
  const Entry accepted = MakeEntry(1, 1, false, 900);
  {
    std::unique_ptr<Log> log = MustOpen(&env_, kSmallSegments);
    AppendSynced(*log, {accepted});
    uint64_t first = SegmentSize(1);
    AppendSynced(*log, {Chosen(accepted)});
    EXPECT_EQ(SegmentSize(1), first);
    EXPECT_TRUE(SegmentExists(2));
  }
  std::unique_ptr<Log> log = MustOpen(&env_, kSmallSegments);
  EXPECT_EQ(*log->Get(1), Chosen(accepted));
}

// Two threads learn the same slots chosen at different ballots (legal in
// either order): one in a single batch, whose marks are planned against
// records the other thread may replace before the batch is buffered (the
// rest of the batch is then staged again), the other one slot at a time.
TEST_F(FileLogChosenMarkTest, Append_MarkRacesOtherChosen_Consistent) {
  constexpr uint64_t kSlots = 100;
  std::vector<Entry> accepted, at_round_2;
  for (uint64_t s = 1; s <= kSlots; ++s) {
    accepted.push_back(MakeEntry(s, 1, false, 32 << 10));
    at_round_2.push_back(Chosen(accepted.back()));
    at_round_2.back().ballot_round = 2;
  }
  std::vector<Entry> marks;
  for (const Entry& e : accepted) marks.push_back(Chosen(e));
  std::unique_ptr<Log> log = MustOpen(&env_);
  AppendSynced(*log, accepted);
  std::thread marker([&] { ASSERT_TRUE(log->Append(marks).ok()); });
  for (const Entry& e : at_round_2) ASSERT_TRUE(AppendOne(*log, e).ok());
  marker.join();
  std::vector<Entry> seen;
  for (uint64_t s = 1; s <= kSlots; ++s) {
    StatusOr<Entry> e = log->Get(s);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    EXPECT_EQ(*e, e->ballot_round == 1 ? marks[s - 1] : at_round_2[s - 1]);
    seen.push_back(*e);
  }
  ASSERT_TRUE(log->Sync().ok());
  log.reset();
  log = MustOpen(&env_);
  for (const Entry& e : seen) EXPECT_EQ(*log->Get(e.slot), e);
}

// Segment 1: slots 1 and 2 accepted. Segment 2: the mark for slot 2.
class FileLogMarkTruncateTest : public FileLogChosenMarkTest {
 protected:
  std::unique_ptr<Log> OpenWithMarkInSegment2() {
    std::unique_ptr<Log> log = MustOpen(&env_, kSmallSegments);
    AppendSynced(*log, {MakeEntry(1, 1, false, 330), slot2_});
    EXPECT_FALSE(SegmentExists(2));
    AppendSynced(*log, {Chosen(slot2_)});
    EXPECT_TRUE(SegmentExists(2));
    return log;
  }
  const Entry slot2_ = MakeEntry(2, 1, false, 500);
};

// The marked record's segment stays while its slot is live.
TEST_F(FileLogMarkTruncateTest, TruncatePrefix_LiveMarkedSlot_KeepsItsRecord) {
  std::unique_ptr<Log> log = OpenWithMarkInSegment2();
  ASSERT_TRUE(log->TruncatePrefix(2).ok());
  EXPECT_TRUE(SegmentExists(1));
  log.reset();
  log = MustOpen(&env_, kSmallSegments);
  EXPECT_EQ(*log->Get(2), Chosen(slot2_));
}

// Segment 1 goes, and the mark left behind in segment 2 refers to it: replay
// must accept that, because the truncation drops the marked slot.
TEST_F(FileLogMarkTruncateTest, TruncatePrefix_DropsMarkedSlot_ReopenOk) {
  std::unique_ptr<Log> log = OpenWithMarkInSegment2();
  ASSERT_TRUE(log->TruncatePrefix(3).ok());
  EXPECT_FALSE(SegmentExists(1));
  log.reset();
  log = MustOpen(&env_, kSmallSegments);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->FirstSlot(), 3u);
  EXPECT_EQ(log->Get(2).status().code(), StatusCode::kNotFound);
}

// As above, but the mark is made obsolete by a later full record for its
// slot rather than by the truncation.
TEST_F(FileLogMarkTruncateTest, TruncatePrefix_MarkSuperseded_ReopenOk) {
  std::unique_ptr<Log> log = OpenWithMarkInSegment2();
  Entry later = Chosen(slot2_);
  later.ballot_round = 5;
  AppendSynced(*log, {later});
  ASSERT_TRUE(log->TruncatePrefix(2).ok());
  EXPECT_FALSE(SegmentExists(1));
  log.reset();
  log = MustOpen(&env_, kSmallSegments);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(*log->Get(2), later);
}

}  // namespace
}  // namespace paxosfs::log
