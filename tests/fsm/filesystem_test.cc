#include "fsm/filesystem.h"

#include <sys/stat.h>

#include <cerrno>

#include "fsm/commands.h"
#include "gtest/gtest.h"
#include "tests/fsm/fsm_harness.h"

namespace paxosfs::fsm {
namespace {

using testing::Harness;
using testing::Ok;
using testing::TempDir;
namespace cmd = testing::cmd;

class FilesystemTest : public ::testing::Test {
 protected:
  FilesystemTest() : h_(dir_.path() + "/store.db") {}
  uint64_t MakeFile(const std::string& name, uint64_t parent = kRootIno) {
    proto::Result r = h_.Do(cmd::Create(parent, name, S_IFREG | 0644));
    EXPECT_EQ(r.error(), 0);
    return r.attr().ino();
  }
  uint64_t MakeDir(const std::string& name, uint64_t parent = kRootIno) {
    proto::Result r = h_.Do(cmd::Mkdir(parent, name, 0755));
    EXPECT_EQ(r.error(), 0);
    return r.attr().ino();
  }
  proto::Attr Attr(uint64_t ino) { return Ok(h_.reader().GetAttr(ino)).attr(); }
  std::string ReadAll(uint64_t ino) {
    return Ok(h_.reader().Read(ino, 0, uint64_t{1} << 30)).data();
  }

  TempDir dir_;
  Harness h_;
};

TEST_F(FilesystemTest, Open_NewStoreHasRootOnly) {
  proto::Attr root = Attr(kRootIno);
  EXPECT_EQ(root.mode(), S_IFDIR | 0755u);
  EXPECT_EQ(root.nlink(), 2u);
  EXPECT_EQ(h_.fs().AppliedIndex(), 0u);
  EXPECT_EQ(Ok(h_.reader().ReadDir(kRootIno, 0, 100)).entries_size(), 2);
}

TEST_F(FilesystemTest, Create_ExclusiveAndNot) {
  uint64_t ino = MakeFile("a");
  EXPECT_EQ(ino, 2u);
  EXPECT_EQ(h_.Do(cmd::Create(kRootIno, "a", S_IFREG | 0644)).error(), EEXIST);
  proto::Result again = h_.Do(cmd::Create(kRootIno, "a", 0644, false));
  EXPECT_EQ(again.error(), 0);
  EXPECT_TRUE(again.existed());
  EXPECT_EQ(again.attr().ino(), ino);
  EXPECT_EQ(Attr(kRootIno).mtime_ns(), 1000);  // Slot 1, the create.
  EXPECT_EQ(Ok(h_.reader().Lookup(kRootIno, "a")).attr().ino(), ino);
  EXPECT_EQ(Ok(h_.reader().Lookup(kRootIno, "b")).error(), ENOENT);
}

TEST_F(FilesystemTest, Create_FifoAndBadModes) {
  proto::Result fifo = h_.Do(cmd::Create(kRootIno, "p", S_IFIFO | 0600));
  EXPECT_EQ(fifo.error(), 0);
  EXPECT_TRUE(S_ISFIFO(fifo.attr().mode()));
  EXPECT_EQ(h_.Do(cmd::Create(kRootIno, "p", S_IFIFO | 0600, false)).error(),
            EEXIST);
  EXPECT_EQ(h_.Do(cmd::Create(kRootIno, "c", S_IFCHR | 0600)).error(), EINVAL);
  EXPECT_EQ(h_.Do(cmd::Create(kRootIno, "c", 0100644 | 070000)).error(),
            EINVAL);
  EXPECT_EQ(h_.Do(cmd::Mkdir(kRootIno, "d", S_IFREG | 0755)).error(), EINVAL);
}

TEST_F(FilesystemTest, BadNames_ChangeNothing) {
  uint64_t before = *h_.fs().Digest();
  for (const std::string& name :
       {std::string(), std::string("."), std::string(".."), std::string("a/b"),
        std::string("a\0b", 3)}) {
    EXPECT_EQ(h_.Do(cmd::Create(kRootIno, name, 0644)).error(), EINVAL);
  }
  EXPECT_EQ(h_.Do(cmd::Mkdir(kRootIno, std::string(256, 'x'), 0755)).error(),
            ENAMETOOLONG);
  EXPECT_EQ(h_.Do(cmd::Mkdir(kRootIno, std::string(255, 'x'), 0755)).error(),
            0);
  EXPECT_NE(*h_.fs().Digest(), before);
}

TEST_F(FilesystemTest, Mkdir_Rmdir_LinkCounts) {
  uint64_t d = MakeDir("d");
  EXPECT_EQ(Attr(kRootIno).nlink(), 3u);
  MakeDir("e", d);
  MakeFile("f", d);
  EXPECT_EQ(Attr(d).nlink(), 3u);
  EXPECT_EQ(h_.Do(cmd::Rmdir(kRootIno, "d")).error(), ENOTEMPTY);
  EXPECT_EQ(h_.Do(cmd::Rmdir(d, "f")).error(), ENOTDIR);
  EXPECT_EQ(h_.Do(cmd::Unlink(d, "e")).error(), EISDIR);
  EXPECT_EQ(h_.Do(cmd::Unlink(d, "f")).error(), 0);
  EXPECT_EQ(h_.Do(cmd::Rmdir(d, "e")).error(), 0);
  EXPECT_EQ(h_.Do(cmd::Rmdir(kRootIno, "d")).error(), 0);
  EXPECT_EQ(Attr(kRootIno).nlink(), 2u);
  EXPECT_EQ(Ok(h_.reader().GetAttr(d)).error(), ENOENT);
  EXPECT_EQ(h_.Do(cmd::Mkdir(d, "x", 0755)).error(), ENOENT);
  // Inode numbers are never reused.
  EXPECT_GT(MakeFile("g"), d + 2);
}

TEST_F(FilesystemTest, SetgidDirectory_Inherits) {
  uint64_t d = MakeDir("d");
  proto::Command chown;
  chown.mutable_setattr()->set_inode(d);
  chown.mutable_setattr()->set_valid(proto::SETATTR_GID | proto::SETATTR_MODE);
  chown.mutable_setattr()->set_gid(77);
  chown.mutable_setattr()->set_mode(02775);
  EXPECT_EQ(h_.Do(chown).error(), 0);
  proto::Command mk = cmd::Mkdir(d, "sub", 0755);
  mk.mutable_caller()->set_gid(5);
  proto::Result sub = h_.Do(mk);
  EXPECT_EQ(sub.attr().gid(), 77u);
  EXPECT_EQ(sub.attr().mode(), S_IFDIR | 02755u);
  proto::Command cr = cmd::Create(d, "f", 0644);
  cr.mutable_caller()->set_gid(5);
  EXPECT_EQ(h_.Do(cr).attr().gid(), 77u);
}

TEST_F(FilesystemTest, Rename_Cases) {
  uint64_t a = MakeDir("a");
  uint64_t b = MakeDir("b", a);
  uint64_t f = MakeFile("f");
  uint64_t g = MakeFile("g");
  EXPECT_EQ(h_.Do(cmd::Rename(kRootIno, "a", b, "x")).error(), EINVAL);
  EXPECT_EQ(h_.Do(cmd::Rename(kRootIno, "a", a, "x")).error(), EINVAL);
  EXPECT_EQ(h_.Do(cmd::Rename(a, "b", kRootIno, "a")).error(), ENOTEMPTY);
  EXPECT_EQ(h_.Do(cmd::Rename(kRootIno, "f", kRootIno, "a")).error(), EISDIR);
  EXPECT_EQ(h_.Do(cmd::Rename(kRootIno, "a", kRootIno, "f")).error(), ENOTDIR);
  EXPECT_EQ(h_.Do(cmd::Rename(kRootIno, "f", kRootIno, "g", kRenameNoReplace))
                .error(),
            EEXIST);
  EXPECT_EQ(
      h_.Do(cmd::Rename(kRootIno, "f", kRootIno, "z", kRenameExchange)).error(),
      ENOENT);
  EXPECT_EQ(h_.Do(cmd::Rename(kRootIno, "f", kRootIno, "g", 3)).error(),
            EINVAL);
  EXPECT_EQ(h_.Do(cmd::Rename(kRootIno, "nope", kRootIno, "g")).error(),
            ENOENT);
  // Replace: g's inode goes away.
  EXPECT_EQ(h_.Do(cmd::Rename(kRootIno, "f", kRootIno, "g")).error(), 0);
  EXPECT_EQ(Ok(h_.reader().GetAttr(g)).error(), ENOENT);
  EXPECT_EQ(Ok(h_.reader().Lookup(kRootIno, "g")).attr().ino(), f);
  // Moving a directory moves a link count between parents.
  EXPECT_EQ(h_.Do(cmd::Rename(a, "b", kRootIno, "b")).error(), 0);
  EXPECT_EQ(Attr(a).nlink(), 2u);
  EXPECT_EQ(Attr(kRootIno).nlink(), 4u);
  EXPECT_EQ(Ok(h_.reader().Lookup(kRootIno, "b")).attr().ino(), b);
  // Exchange a directory and a file across directories.
  EXPECT_EQ(h_.Do(cmd::Rename(kRootIno, "b", a, "y")).error(), 0);
  EXPECT_EQ(h_.Do(cmd::Rename(a, "y", kRootIno, "g", kRenameExchange)).error(),
            0);
  EXPECT_EQ(Ok(h_.reader().Lookup(kRootIno, "g")).attr().ino(), b);
  EXPECT_EQ(Ok(h_.reader().Lookup(a, "y")).attr().ino(), f);
  EXPECT_EQ(Attr(a).nlink(), 2u);
  EXPECT_EQ(Attr(kRootIno).nlink(), 4u);
  // Replacing an empty directory with a directory.
  MakeDir("e");
  EXPECT_EQ(h_.Do(cmd::Rename(kRootIno, "g", kRootIno, "e")).error(), 0);
  EXPECT_EQ(Attr(kRootIno).nlink(), 4u);
}

TEST_F(FilesystemTest, Link_AndSymlink) {
  uint64_t f = MakeFile("f");
  uint64_t d = MakeDir("d");
  EXPECT_EQ(h_.Do(cmd::Link(f, d, "f2")).attr().nlink(), 2u);
  EXPECT_EQ(h_.Do(cmd::Link(d, kRootIno, "d2")).error(), EPERM);
  EXPECT_EQ(h_.Do(cmd::Link(d, kRootIno, "f")).error(), EEXIST);
  EXPECT_EQ(h_.Do(cmd::Unlink(kRootIno, "f")).error(), 0);
  EXPECT_EQ(Attr(f).nlink(), 1u);
  proto::Result s = h_.Do(cmd::Symlink(kRootIno, "s", "d/f2"));
  EXPECT_EQ(s.error(), 0);
  EXPECT_EQ(s.attr().size(), 4u);
  EXPECT_EQ(Ok(h_.reader().ReadLink(s.attr().ino())).data(), "d/f2");
  EXPECT_EQ(Ok(h_.reader().ReadLink(f)).error(), EINVAL);
  EXPECT_EQ(h_.Do(cmd::Symlink(kRootIno, "t", "")).error(), ENOENT);
  EXPECT_EQ(h_.Do(cmd::Symlink(kRootIno, "t", std::string(4096, 'a'))).error(),
            ENAMETOOLONG);
}

TEST_F(FilesystemTest, Timestamps_FollowLinux) {
  auto at = [](proto::Command c, int64_t t) {
    c.set_time_ns(t);
    return c;
  };
  uint64_t d = h_.Do(at(cmd::Mkdir(kRootIno, "d", 0755), 100)).attr().ino();
  proto::Attr f = h_.Do(at(cmd::Create(d, "f", 0644), 200)).attr();
  EXPECT_EQ(f.atime_ns(), 200);
  EXPECT_EQ(f.mtime_ns(), 200);
  EXPECT_EQ(Attr(d).mtime_ns(), 200);
  EXPECT_EQ(Attr(d).ctime_ns(), 200);
  EXPECT_EQ(Attr(kRootIno).mtime_ns(), 100);
  // Write: mtime and ctime of the file only.
  h_.Do(at(cmd::Write(f.ino(), 0, "x"), 300));
  EXPECT_EQ(Attr(f.ino()).mtime_ns(), 300);
  EXPECT_EQ(Attr(f.ino()).ctime_ns(), 300);
  EXPECT_EQ(Attr(f.ino()).atime_ns(), 200);
  EXPECT_EQ(Attr(d).mtime_ns(), 200);
  // Link and chmod: the inode's ctime, not its mtime.
  h_.Do(at(cmd::Link(f.ino(), kRootIno, "g"), 400));
  EXPECT_EQ(Attr(f.ino()).ctime_ns(), 400);
  EXPECT_EQ(Attr(f.ino()).mtime_ns(), 300);
  EXPECT_EQ(Attr(kRootIno).mtime_ns(), 400);
  h_.Do(at(cmd::Chmod(f.ino(), 0600), 500));
  EXPECT_EQ(Attr(f.ino()).ctime_ns(), 500);
  h_.Do(at(cmd::SetXattr(f.ino(), "user.a", "1"), 550));
  EXPECT_EQ(Attr(f.ino()).ctime_ns(), 550);
  // Rename: both parents' mtime/ctime and the moved inode's ctime.
  h_.Do(at(cmd::Rename(d, "f", kRootIno, "h"), 600));
  EXPECT_EQ(Attr(d).mtime_ns(), 600);
  EXPECT_EQ(Attr(kRootIno).ctime_ns(), 600);
  EXPECT_EQ(Attr(f.ino()).ctime_ns(), 600);
  // Unlink of one of two names: the inode's ctime.
  h_.Do(at(cmd::Unlink(kRootIno, "g"), 700));
  EXPECT_EQ(Attr(f.ino()).ctime_ns(), 700);
  // Explicit times, and "now" meaning the command's own time.
  proto::Command utimes;
  utimes.mutable_setattr()->set_inode(f.ino());
  utimes.mutable_setattr()->set_valid(
      proto::SETATTR_ATIME | proto::SETATTR_MTIME | proto::SETATTR_MTIME_NOW);
  utimes.mutable_setattr()->set_atime_ns(42);
  utimes.mutable_setattr()->set_mtime_ns(43);
  proto::Attr u = h_.Do(at(utimes, 800)).attr();
  EXPECT_EQ(u.atime_ns(), 42);
  EXPECT_EQ(u.mtime_ns(), 800);
  EXPECT_EQ(u.ctime_ns(), 800);
  // Truncate to the same size still stamps mtime, as ftruncate(2) does.
  EXPECT_EQ(h_.Do(at(cmd::Truncate(f.ino(), 1), 900)).attr().mtime_ns(), 900);
}

TEST_F(FilesystemTest, Write_SpansChunksAndHolesReadZero) {
  uint64_t f = MakeFile("f");
  std::string data(kChunkSize + 100, 'x');
  proto::Result w = h_.Do(cmd::Write(f, kChunkSize - 50, data));
  EXPECT_EQ(w.error(), 0);
  EXPECT_EQ(w.written(), data.size());
  EXPECT_EQ(w.attr().size(), 2 * kChunkSize + 50);
  std::string all = ReadAll(f);
  EXPECT_EQ(all, std::string(kChunkSize - 50, '\0') + data);
  // Only bytes written are stored: the first chunk holds 64 KiB (its head
  // is zero-filled), the hole-only part costs nothing.
  EXPECT_EQ(Ok(h_.reader().Read(f, kChunkSize - 60, 20)).data(),
            std::string(10, '\0') + std::string(10, 'x'));
  EXPECT_EQ(Ok(h_.reader().Read(f, 1 << 30, 10)).data(), "");
}

TEST_F(FilesystemTest, Write_AppendWithStaleOffsetGoesAtTheEnd) {
  uint64_t f = MakeFile("f");
  // Two nodes both believed the file empty; each append lands after the
  // other's, across a chunk boundary too.
  proto::Command a = cmd::Write(f, 0, "first;");
  a.mutable_write()->set_append(true);
  proto::Command b = cmd::Write(f, 0, std::string(kChunkSize, 'b'));
  b.mutable_write()->set_append(true);
  EXPECT_EQ(h_.Do(a).written(), 6u);
  proto::Result rb = h_.Do(b);
  EXPECT_EQ(rb.error(), 0);
  EXPECT_EQ(rb.written(), kChunkSize);
  EXPECT_EQ(rb.attr().size(), kChunkSize + 6);
  EXPECT_EQ(ReadAll(f), "first;" + std::string(kChunkSize, 'b'));
}

TEST_F(FilesystemTest, Truncate_FreesAndExtendReadsZeros) {
  uint64_t f = MakeFile("f");
  h_.Do(cmd::Write(f, 0, std::string(3 * kChunkSize, 'a')));
  EXPECT_EQ(Attr(f).blocks(), 3 * kChunkSize / 512);
  EXPECT_EQ(h_.Do(cmd::Truncate(f, 100)).error(), 0);
  EXPECT_EQ(Attr(f).blocks(), 1u);
  EXPECT_EQ(h_.Do(cmd::Truncate(f, 200)).error(), 0);
  EXPECT_EQ(ReadAll(f), std::string(100, 'a') + std::string(100, '\0'));
  EXPECT_EQ(h_.Do(cmd::Truncate(kRootIno, 0)).error(), EISDIR);
  Options o;
  EXPECT_EQ(h_.Do(cmd::Truncate(f, o.max_file_size + 1)).error(), EFBIG);
}

TEST_F(FilesystemTest, Appends_ChunkGrowsByDoubling_TailStaysZero) {
  uint64_t f = MakeFile("f");
  const std::string block(4096, 'a');
  // Written once: exact. Each later extension at least doubles the chunk,
  // so 16 appends of 4 KiB rewrite it 4 times and write in place 11 times.
  ASSERT_EQ(h_.Do(cmd::Write(f, 0, block)).error(), 0);
  EXPECT_EQ(Attr(f).blocks(), 4096u / 512);
  ASSERT_EQ(h_.Do(cmd::Write(f, 4096, block)).error(), 0);
  ASSERT_EQ(h_.Do(cmd::Write(f, 8192, block)).error(), 0);
  EXPECT_EQ(Attr(f).size(), 3u * 4096);
  EXPECT_EQ(Attr(f).blocks(), 4u * 4096 / 512);
  for (uint64_t i = 3; i < 16; ++i) {
    ASSERT_EQ(h_.Do(cmd::Write(f, i * 4096, block)).error(), 0);
  }
  EXPECT_EQ(Attr(f).blocks(), kChunkSize / 512);
  EXPECT_EQ(ReadAll(f), std::string(kChunkSize, 'a'));
  // What lies past the end after a shrink and an append reads as zeros
  // once the file is extended over it.
  ASSERT_EQ(h_.Do(cmd::Truncate(f, 10000)).error(), 0);
  ASSERT_EQ(h_.Do(cmd::Write(f, 10000, "bb")).error(), 0);
  ASSERT_EQ(h_.Do(cmd::Truncate(f, 30000)).error(), 0);
  EXPECT_EQ(ReadAll(f),
            std::string(10000, 'a') + "bb" + std::string(30000 - 10002, '\0'));
}

TEST_F(FilesystemTest, LargeSparseFile_1GiB) {
  uint64_t f = MakeFile("big");
  const uint64_t gib = uint64_t{1} << 30;
  EXPECT_EQ(h_.Do(cmd::Write(f, gib - 4, "tail")).error(), 0);
  EXPECT_EQ(h_.Do(cmd::Write(f, 0, "head")).error(), 0);
  EXPECT_EQ(Attr(f).size(), gib);
  EXPECT_EQ(Ok(h_.reader().Read(f, gib - 8, 100)).data(),
            std::string(4, '\0') + "tail");
  EXPECT_EQ(Ok(h_.reader().Read(f, gib / 2, 4)).data(), std::string(4, '\0'));
  EXPECT_LE(Attr(f).blocks(), 2u * (kChunkSize / 512));
  EXPECT_EQ(h_.Do(cmd::Truncate(f, 2)).error(), 0);
  EXPECT_EQ(ReadAll(f), "he");
}

TEST_F(FilesystemTest, Write_RejectsMalformedPieces) {
  uint64_t f = MakeFile("f");
  proto::Command c = cmd::Write(f, 0, "abc");
  c.mutable_write()->set_offset(1);
  EXPECT_EQ(h_.Do(c).error(), EINVAL);
  proto::Command big = cmd::Write(f, Options().max_file_size - 1, "ab");
  EXPECT_EQ(h_.Do(big).error(), EFBIG);
  EXPECT_EQ(h_.Do(cmd::Write(kRootIno, 0, "x")).error(), EISDIR);
  EXPECT_EQ(Attr(f).size(), 0u);
}

TEST_F(FilesystemTest, Fallocate_Modes) {
  uint64_t f = MakeFile("f");
  EXPECT_EQ(h_.Do(cmd::Fallocate(f, 0, 10, 100)).attr().size(), 110u);
  EXPECT_EQ(h_.Do(cmd::Fallocate(f, kFallocKeepSize, 0, 1000)).attr().size(),
            110u);
  EXPECT_EQ(h_.Do(cmd::Fallocate(f, 0x8, 0, 10)).error(), EOPNOTSUPP);
  EXPECT_EQ(h_.Do(cmd::Fallocate(f, 0, 0, 0)).error(), EINVAL);
  EXPECT_EQ(h_.Do(cmd::Fallocate(kRootIno, 0, 0, 1)).error(), EISDIR);
  EXPECT_EQ(ReadAll(f), std::string(110, '\0'));
}

TEST_F(FilesystemTest, Xattrs) {
  uint64_t f = MakeFile("f");
  EXPECT_EQ(h_.Do(cmd::SetXattr(f, "user.a", "1")).error(), 0);
  EXPECT_EQ(h_.Do(cmd::SetXattr(f, "user.a", "2", kXattrCreate)).error(),
            EEXIST);
  EXPECT_EQ(h_.Do(cmd::SetXattr(f, "user.b", "2", kXattrReplace)).error(),
            ENODATA);
  EXPECT_EQ(h_.Do(cmd::SetXattr(f, "bogus.b", "2")).error(), EOPNOTSUPP);
  EXPECT_EQ(
      h_.Do(cmd::SetXattr(f, "user.big", std::string(65537, 'v'))).error(),
      E2BIG);
  EXPECT_EQ(h_.Do(cmd::SetXattr(f, "user.c", "3")).error(), 0);
  EXPECT_EQ(Ok(h_.reader().GetXattr(f, "user.a")).data(), "1");
  EXPECT_EQ(Ok(h_.reader().GetXattr(f, "user.z")).error(), ENODATA);
  EXPECT_EQ(Ok(h_.reader().ListXattr(f)).names_size(), 2);
  EXPECT_EQ(h_.Do(cmd::RemoveXattr(f, "user.a")).error(), 0);
  EXPECT_EQ(h_.Do(cmd::RemoveXattr(f, "user.a")).error(), ENODATA);
}

TEST_F(FilesystemTest, Write_DropsFileCapabilitiesOnly) {
  uint64_t f = MakeFile("f");
  ASSERT_EQ(h_.Do(cmd::SetXattr(f, "security.capability", "caps")).error(), 0);
  ASSERT_EQ(h_.Do(cmd::SetXattr(f, "user.keep", "1")).error(), 0);
  EXPECT_EQ(h_.Do(cmd::Write(f, 0, "data")).error(), 0);
  EXPECT_EQ(Ok(h_.reader().GetXattr(f, "security.capability")).error(),
            ENODATA);
  EXPECT_EQ(Ok(h_.reader().GetXattr(f, "user.keep")).data(), "1");
}

TEST_F(FilesystemTest, ReadDir_OffsetsStableAcrossChanges) {
  for (int i = 0; i < 10; ++i) MakeFile("f" + std::to_string(i));
  proto::Result first = Ok(h_.reader().ReadDir(kRootIno, 0, 5));
  ASSERT_EQ(first.entries_size(), 5);
  uint64_t resume = first.entries(4).offset();
  // Entries already returned go away and new ones arrive: the listing
  // continues where it stopped, missing nothing that stayed.
  h_.Do(cmd::Unlink(kRootIno, "f0"));
  h_.Do(cmd::Unlink(kRootIno, "f1"));
  MakeFile("new");
  proto::Result rest = Ok(h_.reader().ReadDir(kRootIno, resume, 100));
  std::vector<std::string> names;
  for (const auto& e : rest.entries()) names.push_back(e.name());
  EXPECT_EQ(names, (std::vector<std::string>{"f3", "f4", "f5", "f6", "f7", "f8",
                                             "f9", "new"}));
}

TEST_F(FilesystemTest, ExactlyOnce_DuplicateReturnsStoredResult) {
  proto::Command c = cmd::Create(kRootIno, "f", 0644);
  c.mutable_request_id()->set_node(1);
  c.mutable_request_id()->set_session(9);
  c.mutable_request_id()->set_sequence(5);
  proto::Result first = h_.Do(c);
  EXPECT_EQ(first.error(), 0);
  uint64_t digest = *h_.fs().Digest();
  proto::Result again = h_.Do(c);
  EXPECT_EQ(again.SerializeAsString(), first.SerializeAsString());
  c.mutable_request_id()->set_sequence(4);
  EXPECT_EQ(h_.Do(c).error(), EALREADY);
  // Only the applied index moved.
  EXPECT_NE(*h_.fs().Digest(), digest);
  EXPECT_EQ(Ok(h_.reader().ReadDir(kRootIno, 0, 100)).entries_size(), 3);
  c.mutable_request_id()->set_sequence(6);
  EXPECT_EQ(h_.Do(c).error(), EEXIST);
}

TEST_F(FilesystemTest, Apply_GarbageAndEmptySlots) {
  auto r = h_.fs().Apply(1, {"\xff\xff garbage", ""});
  ASSERT_TRUE(r.ok());
  proto::Result bad, noop;
  ASSERT_TRUE(bad.ParseFromString(r->at(0)));
  ASSERT_TRUE(noop.ParseFromString(r->at(1)));
  EXPECT_EQ(bad.error(), EINVAL);
  EXPECT_EQ(noop.error(), ENOSYS);  // An empty command names no op.
  ASSERT_TRUE(h_.fs().Apply(2, {}).ok());
  EXPECT_EQ(h_.fs().AppliedIndex(), 2u);
  EXPECT_DEATH(h_.fs().Apply(4, {}).ok(), "in order");
}

TEST_F(FilesystemTest, Reopen_KeepsStateAndIndex) {
  MakeFile("f");
  uint64_t digest = *h_.fs().Digest();
  uint64_t index = h_.fs().AppliedIndex();
  h_.Reopen();
  EXPECT_EQ(h_.fs().AppliedIndex(), index);
  EXPECT_EQ(h_.fs().DurableIndex(), index);
  EXPECT_EQ(*h_.fs().Digest(), digest);
  EXPECT_EQ(*h_.reader().Digest(), digest);
}

TEST_F(FilesystemTest, Checkpoint_EveryNSlots) {
  TempDir dir;
  Options o;
  ManualClock clock;
  o.clock = &clock;
  o.wal_sync_every_ms = 0;  // Only the checkpoints this test counts.
  o.checkpoint_every_slots = 3;
  o.checkpoint_every_ms = 1000;
  Harness h(dir.path() + "/s.db", o);
  h.Do(cmd::Mkdir(kRootIno, "a", 0755));
  h.Do(cmd::Mkdir(kRootIno, "b", 0755));
  EXPECT_EQ(h.fs().DurableIndex(), 0u);
  h.Do(cmd::Mkdir(kRootIno, "c", 0755));
  EXPECT_EQ(h.fs().DurableIndex(), 3u);
  h.Do(cmd::Mkdir(kRootIno, "d", 0755));
  clock.Advance(int64_t{2000} * 1000000);
  h.Do(cmd::Mkdir(kRootIno, "e", 0755));
  EXPECT_EQ(h.fs().DurableIndex(), 5u);
  h.Do(cmd::Mkdir(kRootIno, "f", 0755));
  ASSERT_TRUE(h.fs().Checkpoint().ok());
  EXPECT_EQ(h.fs().DurableIndex(), 6u);
}

TEST_F(FilesystemTest, StatFs_CountsInodesAndBytes) {
  uint64_t f = MakeFile("f");
  h_.Do(cmd::Write(f, 0, std::string(kChunkSize, 'a')));
  proto::StatFs s = Ok(h_.reader().StatFs()).statfs();
  Options o;
  EXPECT_EQ(s.files_free(), o.capacity_inodes - 2);
  EXPECT_EQ(s.blocks() - s.blocks_free(), 1u);
  EXPECT_EQ(s.name_max(), 255u);
}

}  // namespace
}  // namespace paxosfs::fsm
