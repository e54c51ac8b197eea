// Open-but-unlinked files: a command that removes the last name of an inode
// its proposer holds open (Command.keep_open) keeps it as that node's
// orphan, usable by inode, until the node's Release, or until a later
// process of the node sends ReleaseOrphans.
#include <sys/stat.h>

#include <cerrno>
#include <vector>

#include "fsm/filesystem.h"
#include "gtest/gtest.h"
#include "tests/fsm/fsm_harness.h"

namespace paxosfs::fsm {
namespace {

using testing::Harness;
using testing::Ok;
using testing::TempDir;
namespace cmd = testing::cmd;

class OrphansTest : public ::testing::Test {
 protected:
  OrphansTest() : h_(dir_.path() + "/store.db") {}

  // `c` as proposed by process `boot` of node `node`, holding `open` open.
  proto::Command From(proto::Command c, uint64_t node, uint64_t boot,
                      std::vector<uint64_t> open = {}) {
    c.mutable_request_id()->set_node(node);
    c.mutable_request_id()->set_session(boot);
    c.mutable_request_id()->set_sequence(++sequence_);
    c.set_boot(boot);
    for (uint64_t ino : open) c.add_keep_open(ino);
    return c;
  }
  uint64_t MakeFile(const std::string& name, const std::string& data) {
    proto::Result r = h_.Do(cmd::Create(kRootIno, name, S_IFREG | 0644));
    EXPECT_EQ(r.error(), 0);
    EXPECT_EQ(h_.Do(cmd::Write(r.attr().ino(), 0, data)).error(), 0);
    return r.attr().ino();
  }
  proto::Command Release(uint64_t ino) {
    proto::Command c;
    c.mutable_release()->set_inode(ino);
    return c;
  }
  proto::Command ReleaseOrphans() {
    proto::Command c;
    c.mutable_release_orphans();
    return c;
  }
  bool Exists(uint64_t ino) {
    return Ok(h_.reader().GetAttr(ino)).error() != ENOENT;
  }
  uint64_t Files() {
    proto::StatFs s = Ok(h_.reader().StatFs()).statfs();
    return s.files() - s.files_free();
  }

  TempDir dir_;
  Harness h_;
  uint64_t sequence_ = 0;
};

TEST_F(OrphansTest, UnlinkOfAFileHeldOpen_KeptUsableByInodeUntilReleased) {
  uint64_t ino = MakeFile("f", "hello");
  const uint64_t files = Files();
  proto::Result r = h_.Do(From(cmd::Unlink(kRootIno, "f"), 2, 10, {ino}));
  ASSERT_EQ(r.error(), 0);
  EXPECT_EQ(r.orphaned(), ino);
  EXPECT_EQ(Ok(h_.reader().Lookup(kRootIno, "f")).error(), ENOENT);
  proto::Result attr = Ok(h_.reader().GetAttr(ino));
  ASSERT_EQ(attr.error(), 0);
  EXPECT_EQ(attr.attr().nlink(), 0u);
  EXPECT_EQ(Ok(h_.reader().Read(ino, 0, 100)).data(), "hello");
  EXPECT_EQ(h_.Do(cmd::Write(ino, 5, " again")).error(), 0);
  EXPECT_EQ(Ok(h_.reader().Read(ino, 0, 100)).data(), "hello again");
  EXPECT_EQ(h_.Do(cmd::Link(ino, kRootIno, "back")).error(), ENOENT)
      << "an unlinked file cannot get a name again";
  EXPECT_EQ(Files(), files) << "it still takes its space";

  // Only the node that kept it releases it; a repeat does nothing.
  EXPECT_EQ(h_.Do(From(Release(ino), 3, 10)).error(), 0);
  EXPECT_TRUE(Exists(ino));
  EXPECT_EQ(h_.Do(From(Release(ino), 2, 10)).error(), 0);
  EXPECT_FALSE(Exists(ino));
  EXPECT_EQ(Files(), files - 1);
  EXPECT_EQ(h_.Do(From(Release(ino), 2, 10)).error(), 0);
}

TEST_F(OrphansTest, UnlinkOfAFileNotHeldOpen_FreedAtOnce) {
  uint64_t ino = MakeFile("f", "hello");
  uint64_t other = MakeFile("g", "x");
  proto::Result r = h_.Do(From(cmd::Unlink(kRootIno, "f"), 2, 10, {other}));
  ASSERT_EQ(r.error(), 0);
  EXPECT_EQ(r.orphaned(), 0u);
  EXPECT_FALSE(Exists(ino));
  // Without a request id there is no node to keep it for.
  ino = MakeFile("h", "hello");
  proto::Command untracked = cmd::Unlink(kRootIno, "h");
  untracked.add_keep_open(ino);
  EXPECT_EQ(h_.Do(untracked).orphaned(), 0u);
  EXPECT_FALSE(Exists(ino));
}

TEST_F(OrphansTest, UnlinkOfOneOfTwoNames_KeepsTheFileNamedNotOrphaned) {
  uint64_t ino = MakeFile("f", "hello");
  ASSERT_EQ(h_.Do(cmd::Link(ino, kRootIno, "g")).error(), 0);
  proto::Result r = h_.Do(From(cmd::Unlink(kRootIno, "f"), 2, 10, {ino}));
  EXPECT_EQ(r.orphaned(), 0u);
  EXPECT_EQ(Ok(h_.reader().Lookup(kRootIno, "g")).attr().ino(), ino);
}

TEST_F(OrphansTest, RenameOverAFileHeldOpen_KeepsTheReplacedFile) {
  uint64_t old_ino = MakeFile("f", "old");
  uint64_t new_ino = MakeFile("f.tmp", "new");
  proto::Result r = h_.Do(
      From(cmd::Rename(kRootIno, "f.tmp", kRootIno, "f"), 2, 10, {old_ino}));
  ASSERT_EQ(r.error(), 0);
  EXPECT_EQ(r.orphaned(), old_ino);
  EXPECT_EQ(Ok(h_.reader().Lookup(kRootIno, "f")).attr().ino(), new_ino);
  EXPECT_EQ(Ok(h_.reader().Read(old_ino, 0, 100)).data(), "old");
}

TEST_F(OrphansTest, ReleaseOrphans_FreesOnlyTheNodesEarlierProcesses) {
  uint64_t a = MakeFile("a", "1"), b = MakeFile("b", "2"),
           c = MakeFile("c", "3");
  h_.Do(From(cmd::Unlink(kRootIno, "a"), 2, 10, {a}));
  h_.Do(From(cmd::Unlink(kRootIno, "b"), 2, 20, {b}));
  h_.Do(From(cmd::Unlink(kRootIno, "c"), 3, 5, {c}));
  h_.Reopen();  // Orphans are state: they survive a restart.
  EXPECT_TRUE(Exists(a) && Exists(b) && Exists(c));
  // Process 20 of node 2 starts (late: a stale one of process 10 would
  // free nothing of 20's).
  EXPECT_EQ(h_.Do(From(ReleaseOrphans(), 2, 20)).error(), 0);
  EXPECT_FALSE(Exists(a));
  EXPECT_TRUE(Exists(b)) << "the current process's";
  EXPECT_TRUE(Exists(c)) << "another node's";
  EXPECT_EQ(h_.Do(From(ReleaseOrphans(), 2, 10)).error(), 0);
  EXPECT_TRUE(Exists(b));
}

}  // namespace
}  // namespace paxosfs::fsm
