// A file removed while this node holds it open stays readable and writable
// through its handles until the last one closes (fuse/open_files.h).
#include <chrono>
#include <thread>
#include <utility>

#include "tests/fuse/mount_fixture.h"

namespace paxosfs::fuse {
namespace {

// Closes on every path: a failed assertion must not leave the mount busy
// for TearDown's unmount.
struct Fd {
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  int Close() { return close(std::exchange(fd, -1)); }
  int fd;
};

class OpenUnlinkedTest : public MountFixture {
 protected:
  // Whether the store still holds inode `ino`.
  bool Stored(uint64_t ino) {
    auto reader = backend_->NewReader();
    EXPECT_TRUE(reader.ok());
    auto r = (*reader)->GetAttr(ino);
    EXPECT_TRUE(r.ok());
    return r.ok() && r->error() == 0;
  }
  // The kernel sends RELEASE after close(2) returns: wait for its effect.
  bool FreedWithin(uint64_t ino, std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (Stored(ino)) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }
  // Opens `name` with `flags`; *ino is its inode.
  int OpenFile(const std::string& name, int flags, uint64_t* ino) {
    int fd = open(P(name).c_str(), flags);
    struct stat st;
    EXPECT_GE(fd, 0) << strerror(errno);
    EXPECT_EQ(fd < 0 ? -1 : fstat(fd, &st), 0);
    *ino = fd < 0 ? 0 : st.st_ino;
    return fd;
  }
  std::string PRead(int fd, size_t size) {
    std::string out(size, '\0');
    ssize_t n = pread(fd, out.data(), size, 0);
    out.resize(n < 0 ? 0 : n);
    return n < 0 ? "<" + std::string(strerror(errno)) + ">" : out;
  }
};

TEST_F(OpenUnlinkedTest, Unlinked_ReadAndWrittenThroughItsHandleUntilClosed) {
  WriteFile("f", "hello");
  uint64_t ino = 0;
  Fd f(OpenFile("f", O_RDWR, &ino));
  const int fd = f.fd;
  ASSERT_GE(fd, 0);
  ASSERT_EQ(unlink(P("f").c_str()), 0);
  EXPECT_EQ(access(P("f").c_str(), F_OK), -1);
  EXPECT_EQ(List("").count("f"), 0u);
  EXPECT_EQ(PRead(fd, 100), "hello");
  ASSERT_EQ(pwrite(fd, " world", 6, 5), 6) << strerror(errno);
  EXPECT_EQ(PRead(fd, 100), "hello world");
  struct stat after;
  ASSERT_EQ(fstat(fd, &after), 0);
  EXPECT_EQ(after.st_nlink, 0u);
  EXPECT_EQ(after.st_size, 11);
  EXPECT_TRUE(Stored(ino));
  ASSERT_EQ(f.Close(), 0);
  EXPECT_TRUE(FreedWithin(ino, std::chrono::seconds(10)));
}

TEST_F(OpenUnlinkedTest, Replaced_AReaderKeepsReadingTheOldContent) {
  WriteFile("f", "old content");
  // Read-only, and nothing read before the rename: the reads below reach
  // the file system, not pages the kernel cached earlier.
  uint64_t ino = 0;
  Fd f(OpenFile("f", O_RDONLY, &ino));
  const int fd = f.fd;
  ASSERT_GE(fd, 0);
  WriteFile("f.tmp", "new");
  ASSERT_EQ(rename(P("f.tmp").c_str(), P("f").c_str()), 0);
  EXPECT_EQ(PRead(fd, 100), "old content");
  EXPECT_EQ(ReadFile("f"), "new");
  ASSERT_EQ(f.Close(), 0);
  EXPECT_TRUE(FreedWithin(ino, std::chrono::seconds(10)));
}

TEST_F(OpenUnlinkedTest, TwoHandles_FreedOnlyAfterTheLastCloses) {
  WriteFile("f", "x");
  uint64_t ino = 0, same = 0;
  Fd a(OpenFile("f", O_RDWR, &ino));
  Fd b(OpenFile("f", O_RDONLY, &same));
  ASSERT_GE(a.fd, 0);
  ASSERT_GE(b.fd, 0);
  ASSERT_EQ(same, ino);
  ASSERT_EQ(unlink(P("f").c_str()), 0);
  ASSERT_EQ(a.Close(), 0);
  EXPECT_EQ(PRead(b.fd, 10), "x");
  EXPECT_TRUE(Stored(ino));
  ASSERT_EQ(b.Close(), 0);
  EXPECT_TRUE(FreedWithin(ino, std::chrono::seconds(10)));
}

TEST_F(OpenUnlinkedTest, NotOpen_FreedByTheUnlinkItself) {
  WriteFile("f", "x");
  struct stat st;
  ASSERT_EQ(stat(P("f").c_str(), &st), 0);
  ASSERT_EQ(unlink(P("f").c_str()), 0);
  EXPECT_FALSE(Stored(st.st_ino));
}

}  // namespace
}  // namespace paxosfs::fuse
