// Removing or emptying a large file hands its chunks to garbage, freed by
// Collect commands a bounded batch at a time (fsm/commands.h,
// kFreeAtOnceBytes and kCollectChunks).
#include <sys/stat.h>

#include <cerrno>

#include "fsm/commands.h"
#include "fsm/filesystem.h"
#include "gtest/gtest.h"
#include "tests/fsm/fsm_harness.h"

namespace paxosfs::fsm {
namespace {

using testing::Harness;
using testing::Ok;
using testing::TempDir;
namespace cmd = testing::cmd;

// Past the free-at-once bound: 24 chunks, freed in 2 Collects.
constexpr uint64_t kBigChunks = 24;
static_assert(kBigChunks * kChunkSize > kFreeAtOnceBytes);
static_assert(kBigChunks > kCollectChunks && kBigChunks <= 2 * kCollectChunks);

template <typename T>
T Value(StatusOr<T> v) {
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? *v : T();
}

proto::Command Collect() {
  proto::Command c;
  c.mutable_collect();
  return c;
}

class GarbageTest : public ::testing::Test {
 protected:
  GarbageTest() : h_(dir_.path() + "/store.db") {}

  // A file of `chunks` full chunks, chunk i filled with 'a' + i.
  uint64_t MakeFile(const std::string& name, uint64_t chunks) {
    proto::Result r = h_.Do(cmd::Create(kRootIno, name, S_IFREG | 0644));
    EXPECT_EQ(r.error(), 0);
    for (uint64_t i = 0; i < chunks; ++i) {
      std::string data(kChunkSize, static_cast<char>('a' + i % 26));
      EXPECT_EQ(h_.Do(cmd::Write(r.attr().ino(), i * kChunkSize, data)).error(),
                0);
    }
    return r.attr().ino();
  }
  bool HasGarbage() { return Value(h_.reader().HasGarbage()); }
  uint64_t UsedBlocks() {
    proto::Result r = Ok(h_.reader().StatFs());
    return r.statfs().blocks() - r.statfs().blocks_free();
  }

  TempDir dir_;
  Harness h_;
};

TEST_F(GarbageTest, SmallFile_FreedAtOnce) {
  MakeFile("small", 2);
  ASSERT_EQ(h_.Do(cmd::Unlink(kRootIno, "small")).error(), 0);
  EXPECT_FALSE(HasGarbage());
  EXPECT_EQ(UsedBlocks(), 0u);
}

TEST_F(GarbageTest, BigFile_UnlinkedAtOnce_FreedByCollects) {
  uint64_t keep = MakeFile("keep", 2);
  MakeFile("big", kBigChunks);
  EXPECT_EQ(UsedBlocks(), kBigChunks + 2);
  ASSERT_EQ(h_.Do(cmd::Unlink(kRootIno, "big")).error(), 0);
  EXPECT_EQ(Ok(h_.reader().Lookup(kRootIno, "big")).error(), ENOENT);
  // Gone from the namespace, but its space is not free yet.
  EXPECT_TRUE(HasGarbage());
  EXPECT_EQ(UsedBlocks(), kBigChunks + 2);

  ASSERT_EQ(h_.Do(Collect()).error(), 0);
  EXPECT_TRUE(HasGarbage());
  EXPECT_EQ(UsedBlocks(), kBigChunks + 2 - kCollectChunks);
  ASSERT_EQ(h_.Do(Collect()).error(), 0);
  EXPECT_FALSE(HasGarbage());
  EXPECT_EQ(UsedBlocks(), 2u);
  // A Collect with nothing to do changes nothing.
  ASSERT_EQ(h_.Do(Collect()).error(), 0);
  EXPECT_EQ(Ok(h_.reader().Read(keep, kChunkSize, 4)).data(), "bbbb");
}

TEST_F(GarbageTest, BigFileTruncatedToZero_NewDataIsNotTheOld) {
  uint64_t ino = MakeFile("big", kBigChunks);
  ASSERT_EQ(h_.Do(cmd::Truncate(ino, 0)).error(), 0);
  EXPECT_TRUE(HasGarbage());
  // Extending reads zeros, and a write lands in the fresh chunks, even
  // before and after the old ones are freed.
  ASSERT_EQ(h_.Do(cmd::Truncate(ino, 3 * kChunkSize)).error(), 0);
  EXPECT_EQ(Ok(h_.reader().Read(ino, kChunkSize, 3)).data(),
            std::string(3, '\0'));
  ASSERT_EQ(h_.Do(cmd::Write(ino, kChunkSize + 1, "xyz")).error(), 0);
  ASSERT_EQ(h_.Do(Collect()).error(), 0);
  ASSERT_EQ(h_.Do(Collect()).error(), 0);
  EXPECT_FALSE(HasGarbage());
  EXPECT_EQ(Ok(h_.reader().Read(ino, kChunkSize, 5)).data(),
            std::string("\0xyz\0", 5));
  EXPECT_EQ(Ok(h_.reader().GetAttr(ino)).attr().size(), 3 * kChunkSize);
  EXPECT_EQ(UsedBlocks(), 1u);
}

TEST_F(GarbageTest, EmptyingFiles_UsesNoInodeNumbers) {
  uint64_t big = MakeFile("big", kBigChunks);
  ASSERT_EQ(h_.Do(cmd::Truncate(big, 0)).error(), 0);
  MakeFile("again", kBigChunks);
  ASSERT_EQ(h_.Do(cmd::Truncate(big, 0)).error(), 0);
  // A replica of a build without data keys would hand out the same
  // numbers: the fresh keys come from a counter of their own.
  EXPECT_EQ(Ok(h_.reader().Lookup(kRootIno, "again")).attr().ino(), big + 1);
  EXPECT_EQ(h_.Do(cmd::Create(kRootIno, "next", S_IFREG | 0644)).attr().ino(),
            big + 2);
}

TEST_F(GarbageTest, SameCommands_SameDigest_AcrossReopen) {
  TempDir other_dir;
  Harness other(other_dir.path() + "/store.db");
  for (Harness* h : {&h_, &other}) {
    proto::Result r = h->Do(cmd::Create(kRootIno, "big", S_IFREG | 0644));
    for (uint64_t i = 0; i < kBigChunks; ++i) {
      h->Do(cmd::Write(r.attr().ino(), i * kChunkSize,
                       std::string(kChunkSize, 'q')));
    }
    h->Do(cmd::Unlink(kRootIno, "big"));
  }
  // Garbage survives a restart and is part of the replicated state.
  h_.Reopen();
  EXPECT_TRUE(HasGarbage());
  EXPECT_EQ(Value(h_.fs().Digest()), Value(other.fs().Digest()));
  h_.Do(Collect());
  EXPECT_NE(Value(h_.fs().Digest()), Value(other.fs().Digest()));
  other.Do(Collect());
  EXPECT_EQ(Value(h_.fs().Digest()), Value(other.fs().Digest()));
}

}  // namespace
}  // namespace paxosfs::fsm
