// When an open may keep a file's cached pages: data versions move with
// every change to a file's data and with nothing else, and an open keeps
// the pages only while the version is the one seen at the previous open.
#include "fuse/page_cache.h"

#include <gtest/gtest.h>

#include "fsm/commands.h"

namespace paxosfs::fuse {
namespace {

proto::Command Write(uint64_t ino) {
  proto::Command c;
  fsm::SetWrite(ino, 0, "data", &c);
  return c;
}

proto::Command SetAttr(uint64_t ino, uint32_t valid) {
  proto::Command c;
  c.mutable_setattr()->set_inode(ino);
  c.mutable_setattr()->set_valid(valid);
  return c;
}

TEST(DataVersionsTest, MovesWithDataChangesOnly) {
  DataVersions versions;
  uint64_t start = versions.Get(7);
  EXPECT_NE(start, 0u);

  versions.Applied(10, SetAttr(7, proto::SETATTR_MODE));
  proto::Command rename;
  rename.mutable_rename()->set_name("a");
  versions.Applied(11, rename);
  EXPECT_EQ(versions.Get(7), start);

  versions.Applied(12, Write(7));
  uint64_t written = versions.Get(7);
  EXPECT_GT(written, start);
  EXPECT_EQ(versions.Get(8), start) << "another inode's write moved it";

  versions.Applied(13, SetAttr(7, proto::SETATTR_SIZE));
  uint64_t truncated = versions.Get(7);
  EXPECT_GT(truncated, written);

  proto::Command fallocate;
  fallocate.mutable_fallocate()->set_inode(7);
  versions.Applied(14, fallocate);
  EXPECT_GT(versions.Get(7), truncated);
}

TEST(DataVersionsTest, ForgettingRaisesEveryVersionPastItsLastChange) {
  DataVersions versions(/*max=*/2);
  uint64_t untouched = versions.Get(9);
  versions.Applied(5, Write(1));
  versions.Applied(6, Write(2));
  uint64_t one = versions.Get(1);
  uint64_t two = versions.Get(2);
  versions.Applied(7, Write(3));  // Full: 1 and 2 are forgotten.
  EXPECT_GE(versions.Get(1), one);
  EXPECT_GE(versions.Get(2), two);
  EXPECT_GT(versions.Get(9), untouched)
      << "an inode forgotten or never seen must not keep an old version";
  uint64_t forgotten = versions.Get(1);
  versions.Applied(8, Write(1));
  EXPECT_GT(versions.Get(1), forgotten);
}

TEST(OpenVersionsTest, KeepsOnlyWhileTheVersionIsUnchanged) {
  OpenVersions opened;
  EXPECT_FALSE(opened.Keep(7, 5, true))
      << "first open: nothing known of the cache";
  EXPECT_TRUE(opened.Keep(7, 5, true));
  EXPECT_TRUE(opened.Keep(7, 5, true));
  EXPECT_FALSE(opened.Keep(7, 6, true));
  EXPECT_TRUE(opened.Keep(7, 6, true));
  EXPECT_FALSE(opened.Keep(8, 6, true)) << "another inode shares nothing";
  EXPECT_FALSE(opened.Keep(9, 0, true));
  EXPECT_FALSE(opened.Keep(9, 0, true)) << "an unknown version is never kept";
}

TEST(OpenVersionsTest, ForgettingDropsCachesNeverKeepsThem) {
  OpenVersions opened(/*max=*/2);
  EXPECT_FALSE(opened.Keep(1, 5, true));
  EXPECT_FALSE(opened.Keep(2, 5, true));
  EXPECT_FALSE(opened.Keep(3, 5, true));  // Full: 1 and 2 are forgotten.
  EXPECT_FALSE(opened.Keep(1, 5, true));
  EXPECT_TRUE(opened.Keep(1, 5, true));
}

TEST(OpenVersionsTest, PagesOnlyForFilesReadThroughTheCache) {
  OpenVersions opened(/*max=*/3);
  EXPECT_FALSE(opened.MayHavePages(1)) << "never opened";
  opened.Keep(1, 5, /*cached=*/false);
  EXPECT_FALSE(opened.MayHavePages(1)) << "only opened for direct I/O";
  opened.Keep(1, 5, /*cached=*/true);
  EXPECT_TRUE(opened.MayHavePages(1));
  opened.Keep(1, 6, /*cached=*/false);
  EXPECT_TRUE(opened.MayHavePages(1)) << "pages outlive the open";
  opened.Keep(2, 5, false);
  opened.Keep(3, 5, false);
  EXPECT_FALSE(opened.MayHavePages(2));
  opened.Keep(4, 5, false);  // Full: everything is forgotten.
  EXPECT_TRUE(opened.MayHavePages(1));
  EXPECT_TRUE(opened.MayHavePages(2)) << "forgotten means maybe cached";
}

}  // namespace
}  // namespace paxosfs::fuse
