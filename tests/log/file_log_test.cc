// FileLog behaviour on a healthy disk: reopen, segments, truncation,
// metadata, big values.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "log_test_util.h"

namespace paxosfs::log {
namespace {

class FileLogTest : public ::testing::Test {
 protected:
  FaultInjectionEnv env_;
};

TEST_F(FileLogTest, Reopen_RoundTrip) {
  std::vector<Entry> entries;
  for (uint64_t s = 1; s <= 50; ++s) entries.push_back(MakeEntry(s, s % 3));
  {
    std::unique_ptr<Log> log = MustOpen(&env_);
    ASSERT_TRUE(log->Append(entries).ok());
    ASSERT_TRUE(log->SetMetadata("promised 7.2").ok());
    ASSERT_TRUE(log->Sync().ok());
  }
  std::unique_ptr<Log> log = MustOpen(&env_);
  for (const Entry& e : entries) EXPECT_EQ(*log->Get(e.slot), e);
  EXPECT_EQ(log->FirstSlot(), 1u);
  EXPECT_EQ(log->LastSlot(), 50u);
  EXPECT_EQ(log->Metadata(), "promised 7.2");
}

TEST_F(FileLogTest, Reopen_SupersededRecordsResolveToLatest) {
  {
    std::unique_ptr<Log> log = MustOpen(&env_);
    ASSERT_TRUE(AppendOne(*log, MakeEntry(9, 1)).ok());
    ASSERT_TRUE(AppendOne(*log, MakeEntry(9, 3)).ok());
    ASSERT_TRUE(AppendOne(*log, MakeEntry(9, 3, /*chosen=*/true)).ok());
    ASSERT_TRUE(log->Sync().ok());
  }
  std::unique_ptr<Log> log = MustOpen(&env_);
  EXPECT_EQ(*log->Get(9), MakeEntry(9, 3, true));
}

TEST_F(FileLogTest, Reopen_AppendsContinueInLastSegment) {
  for (uint64_t s = 1; s <= 3; ++s) {
    std::unique_ptr<Log> log = MustOpen(&env_);
    ASSERT_TRUE(AppendOne(*log, MakeEntry(s)).ok());
    ASSERT_TRUE(log->Sync().ok());
  }
  EXPECT_EQ(CountSegments(&env_), 1u);
  std::unique_ptr<Log> log = MustOpen(&env_);
  for (uint64_t s = 1; s <= 3; ++s) EXPECT_EQ(*log->Get(s), MakeEntry(s));
}

TEST_F(FileLogTest, Append_RollsSegmentsAtSizeBound) {
  std::unique_ptr<Log> log = MustOpen(&env_, {.segment_bytes_max = 4096});
  for (uint64_t s = 1; s <= 100; ++s) {
    ASSERT_TRUE(AppendOne(*log, MakeEntry(s, 1, false, 1000)).ok());
  }
  ASSERT_TRUE(log->Sync().ok());
  EXPECT_GE(CountSegments(&env_), 25u);
  for (uint64_t s = 1; s <= 100; ++s) {
    EXPECT_EQ(*log->Get(s), MakeEntry(s, 1, false, 1000));
  }
}

TEST_F(FileLogTest, TruncatePrefix_ReclaimsSegmentsAndSurvivesReopen) {
  FileLogOptions options{.segment_bytes_max = 4096};
  {
    std::unique_ptr<Log> log = MustOpen(&env_, options);
    for (uint64_t s = 1; s <= 100; ++s) {
      ASSERT_TRUE(AppendOne(*log, MakeEntry(s, 1, false, 1000)).ok());
    }
    ASSERT_TRUE(log->Sync().ok());
    size_t before = CountSegments(&env_);
    ASSERT_TRUE(log->TruncatePrefix(91).ok());
    EXPECT_LE(CountSegments(&env_), 4u);
    EXPECT_LT(CountSegments(&env_), before);
  }
  std::unique_ptr<Log> log = MustOpen(&env_, options);
  EXPECT_EQ(log->FirstSlot(), 91u);
  EXPECT_EQ(log->Get(90).status().code(), StatusCode::kNotFound);
  for (uint64_t s = 91; s <= 100; ++s) {
    EXPECT_EQ(*log->Get(s), MakeEntry(s, 1, false, 1000));
  }
}

TEST_F(FileLogTest, TruncatePrefix_KeepsSegmentWithLiveRecord) {
  FileLogOptions options{.segment_bytes_max = 4096};
  std::unique_ptr<Log> log = MustOpen(&env_, options);
  ASSERT_TRUE(AppendOne(*log, MakeEntry(1000)).ok());  // Oldest segment.
  for (uint64_t s = 1; s <= 40; ++s) {
    ASSERT_TRUE(AppendOne(*log, MakeEntry(s, 1, false, 1000)).ok());
  }
  ASSERT_TRUE(log->TruncatePrefix(41).ok());
  EXPECT_EQ(*log->Get(1000), MakeEntry(1000));
  log.reset();
  log = MustOpen(&env_, options);
  EXPECT_EQ(*log->Get(1000), MakeEntry(1000));
}

TEST_F(FileLogTest, Metadata_SurvivesTruncationOfItsSegment) {
  FileLogOptions options{.segment_bytes_max = 4096};
  {
    std::unique_ptr<Log> log = MustOpen(&env_, options);
    ASSERT_TRUE(log->SetMetadata("promised 3.1").ok());
    for (uint64_t s = 1; s <= 50; ++s) {
      ASSERT_TRUE(AppendOne(*log, MakeEntry(s, 1, false, 1000)).ok());
    }
    ASSERT_TRUE(log->TruncatePrefix(50).ok());
    // The segment holding the metadata record is gone.
    StatusOr<uint64_t> size = env_.GetFileSize(SegmentPathIn(kDir, 1));
    EXPECT_EQ(size.status().code(), StatusCode::kNotFound);
  }
  std::unique_ptr<Log> log = MustOpen(&env_, options);
  EXPECT_EQ(log->Metadata(), "promised 3.1");
  EXPECT_EQ(log->FirstSlot(), 50u);
}

TEST_F(FileLogTest, BigValues_8MiB_RoundTrip) {
  std::vector<Entry> entries = {MakeEntry(1, 1, false, 8 << 20),
                                MakeEntry(2, 1, true, 8 << 20)};
  {
    std::unique_ptr<Log> log = MustOpen(&env_, {.segment_bytes_max = 1 << 20});
    ASSERT_TRUE(log->Append(entries).ok());
    ASSERT_TRUE(log->Sync().ok());
    EXPECT_EQ(*log->Get(2), entries[1]);
  }
  std::unique_ptr<Log> log = MustOpen(&env_, {.segment_bytes_max = 1 << 20});
  EXPECT_EQ(*log->Get(1), entries[0]);
  EXPECT_EQ(*log->Get(2), entries[1]);
}

TEST_F(FileLogTest, Append_PastBufferBound_SyncsItself) {
  FileLogOptions options{.buffered_bytes_max = 1000};
  std::unique_ptr<Log> log = MustOpen(&env_, options);
  ASSERT_TRUE(AppendOne(*log, MakeEntry(1, 1, false, 600)).ok());
  ASSERT_TRUE(AppendOne(*log, MakeEntry(2, 1, false, 600)).ok());  // Full.
  ASSERT_TRUE(AppendOne(*log, MakeEntry(3, 1, false, 10)).ok());
  log.reset();
  env_.SimulateCrash();
  log = MustOpen(&env_, options);
  EXPECT_EQ(*log->Get(2), MakeEntry(2, 1, false, 600));
  EXPECT_EQ(log->Get(3).status().code(), StatusCode::kNotFound);
}

TEST_F(FileLogTest, Get_ReadsFromDisk_BitFlipAfterOpenIsCorruption) {
  std::unique_ptr<Log> log = MustOpen(&env_);
  ASSERT_TRUE(AppendOne(*log, MakeEntry(1)).ok());
  ASSERT_TRUE(log->Sync().ok());
  std::string path = SegmentPathIn(kDir, 1);
  env_.FlipBit(path, *env_.GetFileSize(path) - 1, 3);
  StatusOr<Entry> e = log->Get(1);
  EXPECT_EQ(e.status().code(), StatusCode::kCorruption);
  EXPECT_NE(e.status().message().find(path), std::string::npos);
}

TEST_F(FileLogTest, Open_SameDirTwice_UnavailableUntilClosed) {
  std::unique_ptr<Log> log = MustOpen(&env_);
  StatusOr<std::unique_ptr<Log>> second = OpenFileLog(&env_, kDir);
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  log.reset();
  EXPECT_NE(MustOpen(&env_), nullptr);
}

TEST(FileLogPosixTest, Reopen_RoundTripOnRealDisk) {
  std::string dir = ::testing::TempDir() + "file_log_XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  dir += "/log";
  FileLogOptions options{.segment_bytes_max = 8192};
  {
    StatusOr<std::unique_ptr<Log>> log = OpenFileLog(PosixEnv(), dir, options);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    for (uint64_t s = 1; s <= 30; ++s) {
      ASSERT_TRUE(AppendOne(**log, MakeEntry(s, 1, false, 1000)).ok());
    }
    ASSERT_TRUE((*log)->SetMetadata("m").ok());
    ASSERT_TRUE((*log)->TruncatePrefix(20).ok());
  }
  StatusOr<std::unique_ptr<Log>> log = OpenFileLog(PosixEnv(), dir, options);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  EXPECT_EQ(OpenFileLog(PosixEnv(), dir, options).status().code(),
            StatusCode::kUnavailable);  // flock held by the first.
  EXPECT_EQ((*log)->FirstSlot(), 20u);
  EXPECT_EQ((*log)->Metadata(), "m");
  for (uint64_t s = 20; s <= 30; ++s) {
    EXPECT_EQ(*(*log)->Get(s), MakeEntry(s, 1, false, 1000));
  }
  EXPECT_LE(CountSegments(PosixEnv(), dir), 4u);
  std::filesystem::remove_all(std::filesystem::path(dir).parent_path());
}

}  // namespace
}  // namespace paxosfs::log
