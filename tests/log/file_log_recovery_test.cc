// Open after damage: what is cut (an unfinished write at the end of the
// newest segment) and what is reported (everything else).
#include <gtest/gtest.h>

#include "log_test_util.h"

namespace paxosfs::log {
namespace {

const std::string kSegment1 = SegmentPathIn(kDir, 1);

class FileLogRecoveryTest : public ::testing::Test {
 protected:
  // Slots 1..n synced in segment 1; returns the offset of each record.
  std::vector<uint64_t> WriteSynced(int n) {
    std::unique_ptr<Log> log = MustOpen(env_.get());
    std::vector<uint64_t> offsets;
    for (int s = 1; s <= n; ++s) {
      offsets.push_back(*env_->GetFileSize(kSegment1));
      EXPECT_TRUE(AppendOne(*log, MakeEntry(s)).ok());
      EXPECT_TRUE(log->Sync().ok());
    }
    return offsets;
  }

  // Appends `entry` to segment 1 in a Sync whose fdatasync fails: its bytes
  // reach the file but are not durable, as in a crash during the write.
  void WriteUnsynced(const Entry& entry) {
    std::unique_ptr<Log> log = MustOpen(env_.get());
    ASSERT_TRUE(AppendOne(*log, entry).ok());
    env_->FailSyncs(true);
    EXPECT_FALSE(log->Sync().ok());
  }

  // Marks slot `slot` (written by WriteSynced) chosen, synced; checks that
  // this wrote a chosen mark, and returns the mark's offset.
  uint64_t AppendChosenMark(uint64_t slot) {
    std::unique_ptr<Log> log = MustOpen(env_.get());
    uint64_t offset = *env_->GetFileSize(kSegment1);
    EXPECT_TRUE(AppendOne(*log, MakeEntry(slot, 1, true)).ok());
    EXPECT_TRUE(log->Sync().ok());
    EXPECT_EQ(*env_->GetFileSize(kSegment1) - offset,
              kRecordHeaderBytes + kChosenMarkPayloadBytes);
    return offset;
  }

  // Appends `record` to `path` behind the log's back, synced.
  void AppendRaw(const std::string& path, const std::string& record) {
    StatusOr<std::unique_ptr<WritableFile>> f = env_->NewAppendableFile(path);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append(record).ok());
    ASSERT_TRUE((*f)->Sync().ok());
  }

  void ExpectCorruptionAt(uint64_t offset,
                          const std::string& segment = kSegment1) {
    StatusOr<std::unique_ptr<Log>> log = OpenFileLog(env_.get(), kDir);
    ASSERT_EQ(log.status().code(), StatusCode::kCorruption);
    const std::string& m = log.status().message();
    EXPECT_NE(m.find(segment + " at offset " + std::to_string(offset)),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("must not vote"), std::string::npos) << m;
  }

  std::unique_ptr<FaultInjectionEnv> env_ =
      std::make_unique<FaultInjectionEnv>();
};

TEST_F(FileLogRecoveryTest, Open_TornTail_IsCutAtEveryByte) {
  const Entry last = MakeEntry(4);
  uint64_t record_bytes = 0;
  for (uint64_t keep = 0;; ++keep) {
    env_ = std::make_unique<FaultInjectionEnv>();
    WriteSynced(3);
    WriteUnsynced(last);
    record_bytes = env_->UnsyncedBytes(kSegment1);
    env_->SimulateCrash(kSegment1, keep);
    RecoveryReport report;
    std::unique_ptr<Log> log = MustOpen(env_.get(), {}, &report);
    ASSERT_NE(log, nullptr) << "keep=" << keep;
    for (uint64_t s = 1; s <= 3; ++s) EXPECT_EQ(*log->Get(s), MakeEntry(s));
    if (keep == record_bytes) {
      EXPECT_EQ(*log->Get(4), last);  // The whole record made it.
      EXPECT_EQ(report.torn_bytes_cut, 0u);
      break;
    }
    EXPECT_EQ(log->Get(4).status().code(), StatusCode::kNotFound);
    EXPECT_EQ(report.torn_bytes_cut, keep);
    // The cut is durable and appends go after it.
    ASSERT_TRUE(AppendOne(*log, MakeEntry(5)).ok());
    ASSERT_TRUE(log->Sync().ok());
    log.reset();
    log = MustOpen(env_.get());
    EXPECT_EQ(*log->Get(5), MakeEntry(5));
  }
  EXPECT_GT(record_bytes, kRecordHeaderBytes);
}

// A crash while marking a slot chosen leaves it accepted, never damaged.
TEST_F(FileLogRecoveryTest, Open_TornChosenMark_IsCutAtEveryByte) {
  for (uint64_t keep = 0;; ++keep) {
    env_ = std::make_unique<FaultInjectionEnv>();
    WriteSynced(3);
    WriteUnsynced(MakeEntry(2, 1, true));
    const uint64_t mark_bytes = env_->UnsyncedBytes(kSegment1);
    ASSERT_EQ(mark_bytes, kRecordHeaderBytes + kChosenMarkPayloadBytes);
    env_->SimulateCrash(kSegment1, keep);
    RecoveryReport report;
    std::unique_ptr<Log> log = MustOpen(env_.get(), {}, &report);
    ASSERT_NE(log, nullptr) << "keep=" << keep;
    EXPECT_EQ(*log->Get(2), MakeEntry(2, 1, keep == mark_bytes));
    EXPECT_EQ(report.torn_bytes_cut, keep == mark_bytes ? 0 : keep);
    if (keep == mark_bytes) break;
  }
}

// A crash after segment 2 was created and its entry made durable (by another
// fsync of the directory), with `written` bytes of its header on disk.
void ExpectTornSegment2Removed(Env* env, std::string_view written) {
  FileLogOptions options{.segment_bytes_max = 512};
  const std::string segment2 = SegmentPathIn(kDir, 2);
  {
    std::unique_ptr<Log> log = MustOpen(env, options);
    ASSERT_TRUE(AppendOne(*log, MakeEntry(1, 1, false, 400)).ok());
    ASSERT_TRUE(log->Sync().ok());
  }
  StatusOr<std::unique_ptr<WritableFile>> f = env->NewWritableFile(segment2);
  ASSERT_TRUE((*f)->Append(written).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE(env->SyncDir(kDir).ok());

  RecoveryReport report;
  std::unique_ptr<Log> log = MustOpen(env, options, &report);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(report.torn_segment, segment2);
  EXPECT_EQ(*log->Get(1), MakeEntry(1, 1, false, 400));
  ASSERT_TRUE(AppendOne(*log, MakeEntry(2, 1, false, 400)).ok());
  ASSERT_TRUE(log->Sync().ok());
  log.reset();
  log = MustOpen(env, options);
  EXPECT_EQ(*log->Get(2), MakeEntry(2, 1, false, 400));
}

TEST_F(FileLogRecoveryTest, Open_TornSegmentHeader_SegmentRemoved) {
  ExpectTornSegment2Removed(env_.get(), "0123456789");
}

// Found by tests/fuzz/file_log_fuzz: an empty newest segment used to be kept
// and appended to without a header, and the next Open refused the log.
TEST_F(FileLogRecoveryTest, Open_EmptyNewestSegment_SegmentRemoved) {
  ExpectTornSegment2Removed(env_.get(), "");
}

TEST_F(FileLogRecoveryTest, Open_BitFlipInMiddleRecord_Corruption) {
  std::vector<uint64_t> offsets = WriteSynced(5);
  env_->FlipBit(kSegment1, offsets[2] + kRecordHeaderBytes + 30, 5);
  ExpectCorruptionAt(offsets[2]);
}

TEST_F(FileLogRecoveryTest,
       Open_BitFlipInMiddleRecordLength_NotMistakenForTear) {
  std::vector<uint64_t> offsets = WriteSynced(5);
  env_->FlipBit(kSegment1, offsets[2] + 18, 7);  // Length grows past EOF.
  ExpectCorruptionAt(offsets[2]);
}

// A complete final record that fails its checksum is reported, not cut: it
// cannot be told apart from a damaged record that was acknowledged (see
// log/README.md, "Recovery").
TEST_F(FileLogRecoveryTest, Open_BitFlipInFinalCompleteRecord_Corruption) {
  std::vector<uint64_t> offsets = WriteSynced(5);
  env_->FlipBit(kSegment1, *env_->GetFileSize(kSegment1) - 1, 0);
  ExpectCorruptionAt(offsets[4]);
}

// Every byte on disk is covered by a checksum, so no single flipped bit can
// go unnoticed or be mistaken for a torn write; and a failed Open changes
// nothing on disk.
TEST_F(FileLogRecoveryTest, Open_AnyBitFlip_CorruptionAndNothingCut) {
  WriteSynced(3);
  AppendChosenMark(2);
  const uint64_t size = *env_->GetFileSize(kSegment1);
  for (uint64_t offset = 0; offset < size; ++offset) {
    int bit = static_cast<int>(offset % 8);
    env_->FlipBit(kSegment1, offset, bit);
    StatusOr<std::unique_ptr<Log>> log = OpenFileLog(env_.get(), kDir);
    EXPECT_EQ(log.status().code(), StatusCode::kCorruption)
        << "flip at " << offset;
    EXPECT_EQ(*env_->GetFileSize(kSegment1), size);
    env_->FlipBit(kSegment1, offset, bit);  // Repair for the next round.
  }
}

TEST_F(FileLogRecoveryTest, Open_BitFlipInSegmentHeader_Corruption) {
  WriteSynced(2);
  env_->FlipBit(kSegment1, 30, 1);
  ExpectCorruptionAt(0);
}

// A complete mark at the very end is reported like any complete record.
TEST_F(FileLogRecoveryTest, Open_BitFlipInFinalChosenMark_Corruption) {
  WriteSynced(3);
  uint64_t mark = AppendChosenMark(2);
  env_->FlipBit(kSegment1, mark + kRecordHeaderBytes + 9, 2);  // Its segment.
  ExpectCorruptionAt(mark);
}

TEST_F(FileLogRecoveryTest, Open_ChosenMarkWithoutItsRecord_Corruption) {
  std::vector<uint64_t> offsets = WriteSynced(2);
  const uint64_t end = *env_->GetFileSize(kSegment1);
  // Slot 3 has no record; slot 2's record is not at offsets[0].
  for (ChosenMark bad : {ChosenMark{.slot = 3, .record_offset = offsets[1]},
                         ChosenMark{.slot = 2, .record_offset = offsets[0]}}) {
    SCOPED_TRACE(bad.slot);
    bad.record_segment = 1;
    ASSERT_TRUE(env_->TruncateFile(kSegment1, end).ok());
    std::string record;
    AppendChosenMarkRecord(bad, &record);
    AppendRaw(kSegment1, record);
    ExpectCorruptionAt(end);
  }
}

// The segment holding a live mark's record is gone (segment numbers stay
// contiguous, so only the mark can tell).
TEST_F(FileLogRecoveryTest,
       Open_ChosenMarkWhoseRecordSegmentIsGone_Corruption) {
  FileLogOptions options{.segment_bytes_max = 1024};
  const std::string segment2 = SegmentPathIn(kDir, 2);
  uint64_t mark = 0;
  {
    std::unique_ptr<Log> log = MustOpen(env_.get(), options);
    ASSERT_TRUE(AppendOne(*log, MakeEntry(1, 1, false, 900)).ok());
    ASSERT_TRUE(log->Sync().ok());
    ASSERT_TRUE(AppendOne(*log, MakeEntry(1, 1, true, 900)).ok());
    ASSERT_TRUE(log->Sync().ok());
    mark = *env_->GetFileSize(segment2) -
           (kRecordHeaderBytes + kChosenMarkPayloadBytes);
  }
  ASSERT_TRUE(env_->RemoveFile(kSegment1).ok());
  ExpectCorruptionAt(mark, segment2);
}

TEST_F(FileLogRecoveryTest, Open_ZeroFilledTail_IsCut) {
  WriteSynced(3);
  StatusOr<std::unique_ptr<WritableFile>> f =
      env_->NewAppendableFile(kSegment1);
  ASSERT_TRUE((*f)->Append(std::string(4096, '\0')).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  RecoveryReport report;
  std::unique_ptr<Log> log = MustOpen(env_.get(), {}, &report);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(report.zero_bytes_cut, 4096u);
  EXPECT_EQ(report.torn_bytes_cut, 0u);
  EXPECT_EQ(*log->Get(3), MakeEntry(3));
}

TEST_F(FileLogRecoveryTest, Open_GarbageAfterLastRecord_Corruption) {
  WriteSynced(3);
  uint64_t end = *env_->GetFileSize(kSegment1);
  StatusOr<std::unique_ptr<WritableFile>> f =
      env_->NewAppendableFile(kSegment1);
  ASSERT_TRUE((*f)->Append(std::string(64, 'G')).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ExpectCorruptionAt(end);
}

TEST_F(FileLogRecoveryTest, Open_TornRecordInClosedSegment_Corruption) {
  FileLogOptions options{.segment_bytes_max = 512};
  {
    std::unique_ptr<Log> log = MustOpen(env_.get(), options);
    for (uint64_t s = 1; s <= 4; ++s) {
      ASSERT_TRUE(AppendOne(*log, MakeEntry(s, 1, false, 400)).ok());
    }
    ASSERT_TRUE(log->Sync().ok());
  }
  uint64_t size = *env_->GetFileSize(kSegment1);
  ASSERT_TRUE(env_->TruncateFile(kSegment1, size - 5).ok());
  StatusOr<std::unique_ptr<Log>> log = OpenFileLog(env_.get(), kDir, options);
  ASSERT_EQ(log.status().code(), StatusCode::kCorruption);
  EXPECT_NE(log.status().message().find("closed segment"), std::string::npos);
}

TEST_F(FileLogRecoveryTest, Open_MissingMiddleSegment_Corruption) {
  FileLogOptions options{.segment_bytes_max = 512};
  {
    std::unique_ptr<Log> log = MustOpen(env_.get(), options);
    for (uint64_t s = 1; s <= 4; ++s) {
      ASSERT_TRUE(AppendOne(*log, MakeEntry(s, 1, false, 400)).ok());
    }
    ASSERT_TRUE(log->Sync().ok());
  }
  ASSERT_TRUE(env_->RemoveFile(SegmentPathIn(kDir, 2)).ok());
  StatusOr<std::unique_ptr<Log>> log = OpenFileLog(env_.get(), kDir, options);
  ASSERT_EQ(log.status().code(), StatusCode::kCorruption);
  EXPECT_NE(log.status().message().find(SegmentPathIn(kDir, 2)),
            std::string::npos);
}

}  // namespace
}  // namespace paxosfs::log
