#include "log/env.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "log/fault_injection_env.h"

namespace paxosfs::log {
namespace {

std::string ReadAll(Env* env, const std::string& name) {
  StatusOr<std::unique_ptr<RandomAccessFile>> f =
      env->NewRandomAccessFile(name);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  if (!f.ok()) return "";
  std::string out;
  EXPECT_TRUE((*f)->Read(0, 1 << 20, &out).ok());
  return out;
}

void WriteFile(Env* env, const std::string& name, std::string_view data,
               bool sync) {
  StatusOr<std::unique_ptr<WritableFile>> f = env->NewWritableFile(name);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_TRUE((*f)->Append(data).ok());
  if (sync) {
    ASSERT_TRUE((*f)->Seal().ok());
  }
}

class PosixEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "posix_env_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  Env* env_ = PosixEnv();
  std::string dir_;
};

TEST_F(PosixEnvTest, WriteAppendReadRenameRemove) {
  std::string a = dir_ + "/a";
  std::string b = dir_ + "/b";
  WriteFile(env_, a, "hello ", true);
  StatusOr<std::unique_ptr<WritableFile>> f = env_->NewAppendableFile(a);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("world").ok());
  ASSERT_TRUE((*f)->Seal().ok());
  EXPECT_EQ(ReadAll(env_, a), "hello world");
  EXPECT_EQ(*env_->GetFileSize(a), 11u);
  ASSERT_TRUE(env_->RenameFile(a, b).ok());
  ASSERT_TRUE(env_->SyncDir(dir_).ok());
  StatusOr<std::vector<std::string>> children = env_->GetChildren(dir_);
  ASSERT_TRUE(children.ok());
  EXPECT_EQ(*children, std::vector<std::string>{"b"});
  ASSERT_TRUE(env_->TruncateFile(b, 5).ok());
  EXPECT_EQ(ReadAll(env_, b), "hello");
  ASSERT_TRUE(env_->RemoveFile(b).ok());
  EXPECT_EQ(env_->RemoveFile(b).code(), StatusCode::kNotFound);
}

TEST_F(PosixEnvTest, Read_PastEnd_ShortAndOffset) {
  WriteFile(env_, dir_ + "/f", "0123456789", false);
  StatusOr<std::unique_ptr<RandomAccessFile>> f =
      env_->NewRandomAccessFile(dir_ + "/f");
  ASSERT_TRUE(f.ok());
  std::string out;
  ASSERT_TRUE((*f)->Read(7, 100, &out).ok());
  EXPECT_EQ(out, "789");
  ASSERT_TRUE((*f)->Read(20, 4, &out).ok());
  EXPECT_EQ(out, "");
}

// Which 4 KiB pages of `name` are in the page cache.
std::vector<bool> CachedPages(const std::string& name, size_t bytes) {
  std::vector<bool> out;
  int fd = open(name.c_str(), O_RDONLY);
  EXPECT_GE(fd, 0);
  if (fd < 0) return out;
  void* map = mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  EXPECT_NE(map, MAP_FAILED);
  if (map == MAP_FAILED) return out;
  std::vector<unsigned char> vec((bytes + 4095) / 4096);
  EXPECT_EQ(mincore(map, bytes, vec.data()), 0);
  munmap(map, bytes);
  for (unsigned char v : vec) out.push_back((v & 1) != 0);
  return out;
}

// How many of pages [from, to) are cached.
long CachedIn(const std::vector<bool>& cached, size_t from, size_t to) {
  return std::count(cached.begin() + from, cached.begin() + to, true);
}

// Synced log pages leave the page cache, except the newest
// kPosixCacheLagBytes, which catch-up replies still read.
TEST_F(PosixEnvTest, Sync_DropsSyncedPagesBehindTheLag) {
  const std::string name = dir_ + "/log";
  const size_t lag_pages = kPosixCacheLagBytes / 4096;
  const size_t step_pages = kPosixDropStepBytes / 4096;
  const size_t first = lag_pages + 2 * step_pages;
  const std::string bytes(first * 4096, 'x');
  WriteFile(env_, name, bytes, true);
  std::vector<bool> cached = CachedPages(name, first * 4096);
  ASSERT_EQ(cached.size(), first);
  EXPECT_EQ(CachedIn(cached, 0, 2 * step_pages), 0);
  EXPECT_EQ(CachedIn(cached, 2 * step_pages, first),
            static_cast<long>(lag_pages));

  // A reopened file counts from its end: what it held before stays.
  StatusOr<std::unique_ptr<WritableFile>> f = env_->NewAppendableFile(name);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append(bytes).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  cached = CachedPages(name, 2 * first * 4096);
  ASSERT_EQ(cached.size(), 2 * first);
  EXPECT_EQ(CachedIn(cached, 2 * step_pages, first),
            static_cast<long>(lag_pages));
  EXPECT_EQ(CachedIn(cached, first, first + 2 * step_pages), 0);
  EXPECT_EQ(CachedIn(cached, first + 2 * step_pages, 2 * first),
            static_cast<long>(lag_pages));
  // Dropped pages read back from the disk.
  EXPECT_EQ(ReadAll(env_, name), std::string(1 << 20, 'x'));
}

// Less than a step behind the lag: no call, everything stays cached.
TEST_F(PosixEnvTest, Sync_KeepsPagesUntilAStepIsSynced) {
  const std::string name = dir_ + "/log";
  const size_t bytes = kPosixCacheLagBytes + kPosixDropStepBytes / 2;
  WriteFile(env_, name, std::string(bytes, 'x'), true);
  std::vector<bool> cached = CachedPages(name, bytes);
  EXPECT_EQ(CachedIn(cached, 0, cached.size()),
            static_cast<long>(bytes / 4096));
}

// /dev/full fails every write with ENOSPC: the Status must say NoSpace.
TEST_F(PosixEnvTest, Append_DevFull_NoSpace) {
  StatusOr<std::unique_ptr<WritableFile>> f =
      env_->NewAppendableFile("/dev/full");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  Status s = (*f)->Append("x");
  EXPECT_EQ(s.code(), StatusCode::kNoSpace) << s.ToString();
  EXPECT_NE(s.message().find("/dev/full"), std::string::npos);
}

TEST_F(PosixEnvTest, LockFile_SecondHolderUnavailableUntilReleased) {
  StatusOr<std::unique_ptr<FileLock>> first = env_->LockFile(dir_ + "/LOCK");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(env_->LockFile(dir_ + "/LOCK").status().code(),
            StatusCode::kUnavailable);
  first->reset();
  EXPECT_TRUE(env_->LockFile(dir_ + "/LOCK").ok());
}

TEST_F(PosixEnvTest, Open_Missing_NotFound) {
  EXPECT_EQ(env_->NewRandomAccessFile(dir_ + "/nope").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(env_->GetChildren(dir_ + "/nope").status().code(),
            StatusCode::kNotFound);
}

class FaultInjectionEnvTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(env_.CreateDir("/d").ok()); }
  FaultInjectionEnv env_;
};

TEST_F(FaultInjectionEnvTest, Crash_DropsUnsyncedBytes) {
  StatusOr<std::unique_ptr<WritableFile>> f = env_.NewWritableFile("/d/f");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(env_.SyncDir("/d").ok());
  ASSERT_TRUE((*f)->Append("synced").ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Append("lost").ok());
  EXPECT_EQ(ReadAll(&env_, "/d/f"), "syncedlost");
  EXPECT_EQ(env_.UnsyncedBytes("/d/f"), 4u);
  env_.SimulateCrash();
  EXPECT_EQ(ReadAll(&env_, "/d/f"), "synced");
}

TEST_F(FaultInjectionEnvTest, Crash_TornFileKeepsPrefixOfUnsynced) {
  WriteFile(&env_, "/d/f", "abc", true);
  ASSERT_TRUE(env_.SyncDir("/d").ok());
  StatusOr<std::unique_ptr<WritableFile>> f = env_.NewAppendableFile("/d/f");
  ASSERT_TRUE((*f)->Append("defgh").ok());
  env_.SimulateCrash("/d/f", 2);
  EXPECT_EQ(ReadAll(&env_, "/d/f"), "abcde");
}

TEST_F(FaultInjectionEnvTest, Crash_UnsyncedDirectoryChangesUndone) {
  WriteFile(&env_, "/d/old", "x", true);
  ASSERT_TRUE(env_.SyncDir("/d").ok());
  WriteFile(&env_, "/d/new", "y", true);  // Data synced, entry not.
  ASSERT_TRUE(env_.RemoveFile("/d/old").ok());
  env_.SimulateCrash();
  StatusOr<std::vector<std::string>> children = env_.GetChildren("/d");
  ASSERT_TRUE(children.ok());
  EXPECT_EQ(*children, std::vector<std::string>{"old"});
  EXPECT_EQ(ReadAll(&env_, "/d/old"), "x");
}

TEST_F(FaultInjectionEnvTest, FailNthAppend_FailsOnlyThatOne) {
  StatusOr<std::unique_ptr<WritableFile>> f = env_.NewWritableFile("/d/f");
  env_.FailNthAppend(2, Status::NoSpace("injected ENOSPC"));
  EXPECT_TRUE((*f)->Append("1").ok());
  EXPECT_EQ((*f)->Append("2").code(), StatusCode::kNoSpace);
  EXPECT_TRUE((*f)->Append("3").ok());
  EXPECT_EQ(ReadAll(&env_, "/d/f"), "13");
}

TEST_F(FaultInjectionEnvTest, FailSyncs_DataVisibleButNotDurable) {
  StatusOr<std::unique_ptr<WritableFile>> f = env_.NewWritableFile("/d/f");
  ASSERT_TRUE(env_.SyncDir("/d").ok());
  ASSERT_TRUE((*f)->Append("data").ok());
  env_.FailSyncs(true);
  EXPECT_FALSE((*f)->Sync().ok());
  EXPECT_FALSE(env_.SyncDir("/d").ok());
  EXPECT_EQ(ReadAll(&env_, "/d/f"), "data");
  env_.SimulateCrash();
  EXPECT_EQ(ReadAll(&env_, "/d/f"), "");
}

TEST_F(FaultInjectionEnvTest, CrashAfterOps_EverythingFailsUntilCrash) {
  StatusOr<std::unique_ptr<WritableFile>> f = env_.NewWritableFile("/d/f");
  int64_t before = env_.mutating_ops();
  env_.CrashAfterOps(1);
  EXPECT_TRUE((*f)->Append("a").ok());
  EXPECT_FALSE((*f)->Append("b").ok());
  EXPECT_FALSE(env_.NewRandomAccessFile("/d/f").ok());
  EXPECT_EQ(env_.mutating_ops(), before + 1);
  env_.SimulateCrash();
  EXPECT_TRUE(env_.NewWritableFile("/d/g").ok());
}

TEST_F(FaultInjectionEnvTest, FlipBit_ChangesOneByte) {
  WriteFile(&env_, "/d/f", "AAAA", true);
  env_.FlipBit("/d/f", 2, 0);
  EXPECT_EQ(ReadAll(&env_, "/d/f"), "AA@A");
}

}  // namespace
}  // namespace paxosfs::log
