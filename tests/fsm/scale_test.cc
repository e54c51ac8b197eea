// Large directories, and reader threads running while the applier applies.
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "fsm/commands.h"
#include "fsm/filesystem.h"
#include "gtest/gtest.h"
#include "tests/fsm/fsm_harness.h"

namespace paxosfs::fsm::testing {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr int kEntries = 20000;
#else
constexpr int kEntries = 100000;
#endif

TEST(ScaleTest, LargeDirectory_LookupAndPagedReadDir) {
  TempDir dir;
  auto fs =
      std::move(Filesystem::Open(dir.path() + "/s.db", Options()).value());
  uint64_t slot = 0;
  // A thousand creates per slot, as a busy leader would batch them.
  for (int base = 0; base < kEntries; base += 1000) {
    std::vector<std::string> batch;
    for (int i = base; i < base + 1000; ++i) {
      proto::Command c =
          cmd::Create(kRootIno, "file-" + std::to_string(i), 0644);
      c.set_time_ns(int64_t(slot + 1));
      batch.push_back(c.SerializeAsString());
    }
    ASSERT_TRUE(fs->Apply(++slot, batch).ok());
  }
  std::unique_ptr<Reader> reader = fs->NewReader().value();
  EXPECT_EQ(Ok(reader->Lookup(kRootIno, "file-77777")).error(),
            kEntries > 77777 ? 0 : ENOENT);
  EXPECT_EQ(
      Ok(reader->Lookup(kRootIno, "file-" + std::to_string(kEntries))).error(),
      ENOENT);
  // Page through while half of the entries are removed midway: every entry
  // that stays is listed exactly once.
  std::set<std::string> seen;
  uint64_t offset = 0;
  bool removed = false;
  while (true) {
    proto::Result page = Ok(reader->ReadDir(kRootIno, offset, 1000));
    ASSERT_EQ(page.error(), 0);
    if (page.entries_size() == 0) break;
    for (const proto::DirEntry& e : page.entries()) {
      EXPECT_TRUE(seen.insert(e.name()).second) << e.name();
      offset = e.offset();
    }
    if (!removed && seen.size() > size_t(kEntries / 2)) {
      std::vector<std::string> batch;
      for (int i = 0; i < kEntries; i += 2) {
        batch.push_back(cmd::Unlink(kRootIno, "file-" + std::to_string(i))
                            .SerializeAsString());
      }
      ASSERT_TRUE(fs->Apply(++slot, batch).ok());
      removed = true;
    }
  }
  for (int i = 1; i < kEntries; i += 2) {
    ASSERT_TRUE(seen.count("file-" + std::to_string(i))) << i;
  }
  EXPECT_EQ(Ok(reader->GetAttr(kRootIno)).attr().nlink(), 2u);
}

TEST(ScaleTest, ReadersSeeWholeSlotsWhileApplying) {
  TempDir dir;
  auto fs =
      std::move(Filesystem::Open(dir.path() + "/s.db", Options()).value());
  ASSERT_TRUE(
      fs->Apply(1, {cmd::Create(kRootIno, "f", 0644).SerializeAsString()})
          .ok());
  const uint64_t ino = 2;
  const uint64_t size = 3 * kChunkSize + 123;
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  std::atomic<int> torn{0};
  auto read_loop = [&] {
    std::unique_ptr<Reader> reader = fs->NewReader().value();
    while (!stop.load()) {
      proto::Result r = Ok(reader->Read(ino, 0, size));
      const std::string& d = r.data();
      if (r.error() == 0 && d.empty()) continue;
      // Each slot rewrites the whole file with one byte value; a reader
      // must never see two of them at once.
      if (r.error() != 0 || d.size() != size ||
          d.find_first_not_of(d[0]) != std::string::npos) {
        torn++;
      }
      reads++;
    }
  };
  std::thread a(read_loop), b(read_loop);
  for (uint64_t s = 2; s < 200; ++s) {
    proto::Command c =
        cmd::Write(ino, 0, std::string(size, char('a' + s % 26)));
    ASSERT_TRUE(fs->Apply(s, {c.SerializeAsString()}).ok());
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (reads.load() < 20 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  stop = true;
  a.join();
  b.join();
  EXPECT_GE(reads.load(), 20);
  EXPECT_EQ(torn.load(), 0);
}

TEST(ScaleTest, DenseLargeFile_WriteReadTruncate) {
#if defined(__SANITIZE_ADDRESS__)
  constexpr uint64_t kMiBs = 256;
#else
  constexpr uint64_t kMiBs = 1024;  // 1 GiB.
#endif
  constexpr uint64_t kMiB = 1 << 20;
  TempDir dir;
  auto fs =
      std::move(Filesystem::Open(dir.path() + "/s.db", Options()).value());
  ASSERT_TRUE(
      fs->Apply(1, {cmd::Create(kRootIno, "big", 0644).SerializeAsString()})
          .ok());
  const uint64_t ino = 2;
  // Each MiB holds its own index, so misplaced chunks cannot go unnoticed.
  auto pattern = [](uint64_t mib) {
    return std::string(kMiB, char('A' + mib % 53));
  };
  uint64_t slot = 1;
  for (uint64_t base = 0; base < kMiBs; base += 16) {
    std::vector<std::string> batch;
    for (uint64_t m = base; m < base + 16; ++m) {
      batch.push_back(
          cmd::Write(ino, m * kMiB, pattern(m)).SerializeAsString());
    }
    ASSERT_TRUE(fs->Apply(++slot, batch).ok());
  }
  std::unique_ptr<Reader> reader = fs->NewReader().value();
  proto::Attr a = Ok(reader->GetAttr(ino)).attr();
  EXPECT_EQ(a.size(), kMiBs * kMiB);
  EXPECT_EQ(a.blocks(), kMiBs * kMiB / 512);
  for (uint64_t m = 0; m < kMiBs; ++m) {
    ASSERT_TRUE(Ok(reader->Read(ino, m * kMiB, kMiB)).data() == pattern(m))
        << "MiB " << m;
  }
  // A read straddling two MiBs.
  EXPECT_EQ(Ok(reader->Read(ino, 5 * kMiB - 2, 4)).data(),
            pattern(4).substr(0, 2) + pattern(5).substr(0, 2));
  ASSERT_TRUE(
      fs->Apply(++slot, {cmd::Truncate(ino, 1000).SerializeAsString()}).ok());
  EXPECT_EQ(Ok(reader->GetAttr(ino)).attr().blocks(), 2u);
  proto::StatFs st = Ok(reader->StatFs()).statfs();
  EXPECT_EQ(st.blocks() - st.blocks_free(), 1u);
}

}  // namespace
}  // namespace paxosfs::fsm::testing
