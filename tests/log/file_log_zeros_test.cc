// Zeros written ahead of appends on the real disk (log/README.md, "Zeros
// ahead"): small syncs overwrite instead of growing the file, closed
// segments keep no zeros, the newest segment's zeros are cut on reopen, and
// a record torn over zeros is cut while a damaged one is still reported.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

#include "log_test_util.h"

namespace paxosfs::log {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const std::string& path) {
  StatusOr<std::unique_ptr<RandomAccessFile>> f =
      PosixEnv()->NewRandomAccessFile(path);
  EXPECT_TRUE(f.ok());
  std::string out;
  if (f.ok()) {
    EXPECT_TRUE((*f)->Read(0, 64 << 20, &out).ok());
  }
  return out;
}

// Where the records end: ValueFor bytes are letters, so the last record
// ends in a non-zero byte.
uint64_t RecordsEnd(const std::string& path) {
  std::string bytes = Slurp(path);
  size_t last = bytes.find_last_not_of('\0');
  return last == std::string::npos ? 0 : last + 1;
}

void Overwrite(const std::string& path, uint64_t offset,
               const std::string& bytes) {
  int fd = open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset)),
            static_cast<ssize_t>(bytes.size()));
  close(fd);
}

class FileLogZerosTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "file_log_zeros_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/log";
  }
  void TearDown() override { fs::remove_all(root_); }

  std::unique_ptr<Log> Open(RecoveryReport* report = nullptr) {
    StatusOr<std::unique_ptr<Log>> log =
        OpenFileLog(PosixEnv(), dir_, options_, report);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? std::move(*log) : nullptr;
  }

  // Slots [first, last] of `size` bytes, each synced on its own.
  void WriteSynced(Log& log, uint64_t first, uint64_t last, size_t size) {
    for (uint64_t s = first; s <= last; ++s) {
      ASSERT_TRUE(AppendOne(log, MakeEntry(s, 1, false, size)).ok());
      ASSERT_TRUE(log.Sync().ok());
    }
  }

  // Slots 1..10 synced, so zeros follow them; returns where they end and
  // the record slot 11 would get there.
  std::string NextRecordOverZeros(uint64_t* end) {
    std::unique_ptr<Log> log = Open();
    WriteSynced(*log, 1, 10, 100);
    *end = RecordsEnd(SegmentPathIn(dir_, 1));
    EXPECT_GT(fs::file_size(SegmentPathIn(dir_, 1)), *end);
    std::string record;
    AppendEntryRecord(MakeEntry(11, 1, false, 2000), &record);
    return record;
  }

  std::string root_;
  std::string dir_;
  FileLogOptions options_{.segment_bytes_max = 64 << 10};
};

TEST_F(FileLogZerosTest, SmallSyncs_OverwriteZerosAheadOfTheRecords) {
  std::unique_ptr<Log> log = Open();
  const std::string segment = SegmentPathIn(dir_, 1);
  WriteSynced(*log, 1, kPosixZeroAheadAfterSyncs - 2, 100);
  EXPECT_EQ(fs::file_size(segment), RecordsEnd(segment));  // Not yet.
  WriteSynced(*log, kPosixZeroAheadAfterSyncs - 1, 10, 100);
  const uint64_t size = fs::file_size(segment);
  EXPECT_GE(size, RecordsEnd(segment) + kPosixZeroAheadBytes);
  WriteSynced(*log, 11, 20, 100);
  EXPECT_EQ(fs::file_size(segment), size);  // Overwritten, not grown.
  EXPECT_EQ(*log->Get(20), MakeEntry(20));
}

// Past the zeros the segment header's sync left, large syncs add none.
TEST_F(FileLogZerosTest, LargeSyncs_WriteNoZeros) {
  options_.segment_bytes_max = 8 << 20;
  std::unique_ptr<Log> log = Open();
  const std::string segment = SegmentPathIn(dir_, 1);
  const uint64_t zeroed = fs::file_size(segment);
  const uint64_t n = zeroed / kPosixZeroAheadBatchBytes + 2;
  WriteSynced(*log, 1, n, kPosixZeroAheadBatchBytes);
  EXPECT_GT(RecordsEnd(segment), zeroed);
  EXPECT_EQ(fs::file_size(segment), RecordsEnd(segment));
}

TEST_F(FileLogZerosTest, Rollover_SealsTheClosedSegment_ReopenCutsZeros) {
  {
    std::unique_ptr<Log> log = Open();
    WriteSynced(*log, 1, 200, 1000);  // About four 64 KiB segments.
  }
  const uint64_t segments = CountSegments(PosixEnv(), dir_);
  ASSERT_GE(segments, 3u);
  for (uint64_t s = 1; s < segments; ++s) {
    const std::string path = SegmentPathIn(dir_, s);
    EXPECT_EQ(fs::file_size(path), RecordsEnd(path)) << path;
  }
  const std::string newest = SegmentPathIn(dir_, segments);
  const uint64_t records_end = RecordsEnd(newest);
  ASSERT_GT(fs::file_size(newest), records_end);

  RecoveryReport report;
  std::unique_ptr<Log> log = Open(&report);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(report.torn_bytes_cut, 0u);  // Nothing for the operator's log.
  EXPECT_GT(report.zero_bytes_cut, 0u);
  EXPECT_EQ(fs::file_size(newest), records_end);
  WriteSynced(*log, 201, 210, 1000);
  log.reset();
  log = Open();
  for (uint64_t s = 1; s <= 210; ++s) {
    ASSERT_EQ(*log->Get(s), MakeEntry(s, 1, false, 1000)) << s;
  }
}

// A crash while a record was written over the zeros: one sector of it never
// reached the disk. It was never acknowledged, so it is cut.
TEST_F(FileLogZerosTest, RecordTornOverZeros_IsCut) {
  const std::string segment = SegmentPathIn(dir_, 1);
  uint64_t end = 0;
  std::string record = NextRecordOverZeros(&end);
  const uint64_t sector = (end + 512 + 511) / 512 * 512;
  record.replace(sector - end, 512, std::string(512, '\0'));
  Overwrite(segment, end, record);

  RecoveryReport report;
  std::unique_ptr<Log> log = Open(&report);
  ASSERT_NE(log, nullptr);
  EXPECT_GT(report.torn_bytes_cut, 0u);
  EXPECT_EQ(fs::file_size(segment), end);
  EXPECT_EQ(log->Get(11).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*log->Get(10), MakeEntry(10));
}

// The same record complete but for one flipped bit: bit rot in what may be
// an acknowledged vote, reported and nothing cut.
TEST_F(FileLogZerosTest, DamagedRecordOverZeros_Corruption) {
  const std::string segment = SegmentPathIn(dir_, 1);
  uint64_t end = 0;
  std::string record = NextRecordOverZeros(&end);
  record[record.size() / 2] ^= 4;
  Overwrite(segment, end, record);
  const uint64_t size = fs::file_size(segment);

  StatusOr<std::unique_ptr<Log>> log = OpenFileLog(PosixEnv(), dir_, options_);
  ASSERT_EQ(log.status().code(), StatusCode::kCorruption);
  EXPECT_NE(log.status().message().find("at offset " + std::to_string(end)),
            std::string::npos)
      << log.status().ToString();
  EXPECT_EQ(fs::file_size(segment), size);
}

// A record header written over zeros across a sector boundary, the sector
// after the boundary never written: cut. Anything but zeros after the
// boundary: reported.
TEST_F(FileLogZerosTest, HeaderTornAcrossASectorOverZeros_CutUnlessMore) {
  const std::string segment = SegmentPathIn(dir_, 1);
  size_t size = 0;
  uint64_t end = 0;
  std::string header;
  {
    std::unique_ptr<Log> log = Open();
    WriteSynced(*log, 1, 9, 100);
    // Slot 10 sized to end 10 bytes before a sector boundary.
    const uint64_t bare = EntryRecordBytes(MakeEntry(10, 1, false, 0));
    size = (1024 + 502 - (RecordsEnd(segment) + bare) % 512) % 512 + 512;
    WriteSynced(*log, 10, 10, size);
    end = RecordsEnd(segment);
    ASSERT_EQ(end % 512, 502u);
    ASSERT_GT(fs::file_size(segment), end + 512);
    AppendEntryRecord(MakeEntry(11), &header);
    header.resize(kRecordHeaderBytes);
  }
  Overwrite(segment, end + 20, "x");  // Past the boundary: not torn.
  Overwrite(segment, end, header.substr(0, 10));
  EXPECT_EQ(OpenFileLog(PosixEnv(), dir_, options_).status().code(),
            StatusCode::kCorruption);

  Overwrite(segment, end + 20, std::string(1, '\0'));
  RecoveryReport report;
  std::unique_ptr<Log> log = Open(&report);
  ASSERT_NE(log, nullptr);
  EXPECT_GT(report.torn_bytes_cut, 0u);
  EXPECT_EQ(fs::file_size(segment), end);
  EXPECT_EQ(*log->Get(10), MakeEntry(10, 1, false, size));
  EXPECT_EQ(log->Get(11).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace paxosfs::log
