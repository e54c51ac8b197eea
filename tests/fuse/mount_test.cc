// The FUSE adapter against a real mount of a one-node, no-consensus
// backend: what a user's syscalls see. The cluster tests repeat the
// cross-node parts over real processes.
#include "fuse/mount.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "fsm/commands.h"
#include "tests/fuse/mount_fixture.h"

namespace paxosfs::fuse {
namespace {

class MountTest : public MountFixture {};

TEST_F(MountTest, WriteThenRead_SmallAndLarge) {
  WriteFile("small", "hello paxosfs");
  EXPECT_EQ(ReadFile("small"), "hello paxosfs");
  std::string big(8 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 31);
  WriteFile("big", big);
  EXPECT_EQ(ReadFile("big"), big);
  struct stat st;
  ASSERT_EQ(stat(P("big").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, static_cast<off_t>(big.size()));
}

TEST_F(MountTest, OpenTrunc_ShorterContentReplacesLonger) {
  WriteFile("f", "a longer first version");
  WriteFile("f", "short");
  EXPECT_EQ(ReadFile("f"), "short");
  struct stat st;
  ASSERT_EQ(stat(P("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 5);
}

TEST_F(MountTest, CreateExclusive_Exists) {
  WriteFile("f", "x");
  EXPECT_EQ(open(P("f").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644), -1);
  EXPECT_EQ(errno, EEXIST);
}

TEST_F(MountTest, MkdirReaddirRmdir) {
  ASSERT_EQ(mkdir(P("d").c_str(), 0755), 0);
  WriteFile("d/a", "1");
  WriteFile("d/b", "2");
  EXPECT_EQ(List("d"), (std::set<std::string>{".", "..", "a", "b"}));
  EXPECT_EQ(rmdir(P("d").c_str()), -1);
  EXPECT_EQ(errno, ENOTEMPTY);
  ASSERT_EQ(unlink(P("d/a").c_str()), 0);
  ASSERT_EQ(unlink(P("d/b").c_str()), 0);
  EXPECT_EQ(rmdir(P("d").c_str()), 0);
  EXPECT_EQ(access(P("d").c_str(), F_OK), -1);
}

TEST_F(MountTest, ReaddirManyEntries_AllListedOnce) {
  ASSERT_EQ(mkdir(P("many").c_str(), 0755), 0);
  for (int i = 0; i < 600; ++i) {
    int fd = creat(
        P("many/file-with-a-longish-name-" + std::to_string(i)).c_str(), 0644);
    ASSERT_GE(fd, 0);
    close(fd);
  }
  EXPECT_EQ(List("many").size(), 602u);
}

TEST_F(MountTest, RenameReplacesTarget) {
  WriteFile("a", "A");
  WriteFile("b", "B");
  ASSERT_EQ(rename(P("a").c_str(), P("b").c_str()), 0);
  EXPECT_EQ(ReadFile("b"), "A");
  EXPECT_EQ(access(P("a").c_str(), F_OK), -1);
}

TEST_F(MountTest, HardLinkAndSymlink) {
  WriteFile("t", "target");
  ASSERT_EQ(link(P("t").c_str(), P("h").c_str()), 0);
  struct stat st;
  ASSERT_EQ(stat(P("t").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);
  ASSERT_EQ(symlink("t", P("s").c_str()), 0);
  char buf[64] = {};
  ASSERT_EQ(readlink(P("s").c_str(), buf, sizeof(buf)), 1);
  EXPECT_STREQ(buf, "t");
  EXPECT_EQ(ReadFile("s"), "target");
}

TEST_F(MountTest, ChmodTruncateSparse) {
  WriteFile("f", "0123456789");
  ASSERT_EQ(chmod(P("f").c_str(), 0600), 0);
  ASSERT_EQ(truncate(P("f").c_str(), 4), 0);
  struct stat st;
  ASSERT_EQ(stat(P("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(ReadFile("f"), "0123");
  int fd = open(P("sparse").c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pwrite(fd, "end", 3, 10 << 20), 3);
  close(fd);
  std::string data = ReadFile("sparse");
  ASSERT_EQ(data.size(), (10u << 20) + 3);
  EXPECT_EQ(data.substr(0, 10 << 20), std::string(10 << 20, '\0'));
  ASSERT_EQ(stat(P("sparse").c_str(), &st), 0);
  EXPECT_LT(st.st_blocks * 512, 1 << 20) << "the hole costs space";
}

TEST_F(MountTest, Xattrs) {
  WriteFile("f", "x");
  ASSERT_EQ(setxattr(P("f").c_str(), "user.k", "v1", 2, 0), 0);
  char buf[64] = {};
  EXPECT_EQ(getxattr(P("f").c_str(), "user.k", buf, sizeof(buf)), 2);
  EXPECT_EQ(std::string(buf, 2), "v1");
  EXPECT_EQ(getxattr(P("f").c_str(), "user.k", nullptr, 0), 2);
  char names[64] = {};
  EXPECT_EQ(listxattr(P("f").c_str(), names, sizeof(names)), 7);
  EXPECT_STREQ(names, "user.k");
  ASSERT_EQ(removexattr(P("f").c_str(), "user.k"), 0);
  EXPECT_EQ(getxattr(P("f").c_str(), "user.k", buf, sizeof(buf)), -1);
  EXPECT_EQ(errno, ENODATA);
}

TEST_F(MountTest, Write_DropsFileCapabilities) {
  WriteFile("f", "x");
  // A valid VFS_CAP_REVISION_2 value (the kernel checks the format): one
  // permitted capability, CAP_NET_RAW.
  const uint32_t caps[5] = {0x02000000, 1u << 13, 0, 0, 0};
  ASSERT_EQ(
      setxattr(P("f").c_str(), "security.capability", caps, sizeof(caps), 0), 0)
      << std::strerror(errno);
  int fd = open(P("f").c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pwrite(fd, "y", 1, 0), 1);
  close(fd);
  EXPECT_EQ(getxattr(P("f").c_str(), "security.capability", nullptr, 0), -1);
  EXPECT_EQ(errno, ENODATA);
}

TEST_F(MountTest, Readahead_RaisedToOneMiBAtFirstOpen) {
  WriteFile("f", "x");
  EXPECT_EQ(ReadFile("f"), "x");
  struct stat st;
  ASSERT_EQ(stat(mnt_.c_str(), &st), 0);
  std::string path = "/sys/class/bdi/" + std::to_string(major(st.st_dev)) +
                     ":" + std::to_string(minor(st.st_dev)) + "/read_ahead_kb";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  int kb = 0;
  in >> kb;
  EXPECT_EQ(kb, 1024);
}

// How many of the file's pages the kernel holds right after an open for
// reading (mincore on a mapping of it: the open itself read nothing).
size_t CachedPagesAfterOpen(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY);
  EXPECT_GE(fd, 0) << strerror(errno);
  struct stat st;
  EXPECT_EQ(fstat(fd, &st), 0);
  size_t size = static_cast<size_t>(st.st_size);
  void* map = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  EXPECT_NE(map, MAP_FAILED) << strerror(errno);
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> resident((size + page - 1) / page);
  EXPECT_EQ(mincore(map, size, resident.data()), 0) << strerror(errno);
  munmap(map, size);
  close(fd);
  size_t cached = 0;
  for (unsigned char r : resident) cached += r & 1;
  return cached;
}

TEST_F(MountTest, Reopen_KeepsCachedPagesUntilTheDataChanges) {
  std::string data(1 << 20, 'a');
  WriteFile("f", data);
  ASSERT_EQ(ReadFile("f"), data);
  EXPECT_EQ(CachedPagesAfterOpen(P("f")), 256u)
      << "an open dropped the pages of a file nobody changed";
  EXPECT_EQ(ReadFile("f"), data);

  // A write the kernel is not told about, as one made on another node. It
  // keeps the size and mtime, so the kernel's own check (auto_inval_data:
  // drop the pages when fresh attributes show another mtime) finds nothing.
  struct stat st;
  ASSERT_EQ(stat(P("f").c_str(), &st), 0);
  proto::Command write;
  write.set_time_ns(st.st_mtim.tv_sec * 1'000'000'000 + st.st_mtim.tv_nsec);
  fsm::SetWrite(st.st_ino, 4096, std::string(4096, 'b'), &write);
  auto result = backend_->Execute(write);
  ASSERT_TRUE(result.ok() && result->error() == 0);
  EXPECT_EQ(CachedPagesAfterOpen(P("f")), 0u)
      << "an open kept pages cached before a change to the file";
  std::string read = ReadFile("f");
  EXPECT_EQ(read.substr(0, 4096), std::string(4096, 'a'));
  EXPECT_EQ(read.substr(4096, 4096), std::string(4096, 'b'))
      << "a stale page was served after the file changed";
}

TEST_F(MountTest, OpenFile_InvalidationDropsItsCachedPages) {
  std::string data(1 << 20, 'a');
  WriteFile("f", data);
  int fd = open(P("f").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << strerror(errno);
  std::string read(data.size(), '\0');
  ASSERT_EQ(pread(fd, read.data(), read.size(), 0),
            static_cast<ssize_t>(read.size()));
  // A change made elsewhere, and the invalidation its node queues when it
  // applies it (cli/node_backend.cc).
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  proto::Command write;
  write.set_time_ns(st.st_mtim.tv_sec * 1'000'000'000 + st.st_mtim.tv_nsec);
  fsm::SetWrite(st.st_ino, 0, std::string(4096, 'b'), &write);
  auto result = backend_->Execute(write);
  ASSERT_TRUE(result.ok() && result->error() == 0);
  mount_->InvalidateInode(st.st_ino, 0, 0);
  // The queue runs on its own thread: poll the open file, bounded.
  char first = 'a';
  for (int i = 0; i < 500 && first != 'b'; ++i) {
    ASSERT_EQ(pread(fd, &first, 1, 0), 1);
    if (first != 'b') usleep(10'000);
  }
  EXPECT_EQ(first, 'b') << "the open file kept a stale page";
  close(fd);
}

TEST_F(MountTest, FsyncAndClose_SucceedEveryTime) {
  int fd = open(P("f").c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0) << strerror(errno);
  int dir = open(mnt_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dir, 0) << strerror(errno);
  // The first of each tells the kernel it need not ask again; the second
  // is answered by the kernel alone. Both must succeed.
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(write(fd, "x", 1), 1);
    EXPECT_EQ(fsync(fd), 0) << strerror(errno);
    EXPECT_EQ(fdatasync(fd), 0) << strerror(errno);
    EXPECT_EQ(fsync(dir), 0) << strerror(errno);
    int other = open(P("f").c_str(), O_RDONLY);
    ASSERT_GE(other, 0) << strerror(errno);
    EXPECT_EQ(close(other), 0) << strerror(errno);
  }
  EXPECT_EQ(close(dir), 0) << strerror(errno);
  EXPECT_EQ(close(fd), 0) << strerror(errno);
  EXPECT_EQ(ReadFile("f"), "xx");
}

TEST_F(MountTest, Utimens_SetsAndKeepsTimes) {
  WriteFile("f", "x");
  timespec times[2] = {{1'000'000'000, 123}, {1'100'000'000, 456}};
  ASSERT_EQ(utimensat(AT_FDCWD, P("f").c_str(), times, 0), 0);
  struct stat st;
  ASSERT_EQ(stat(P("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_atim.tv_sec, 1'000'000'000);
  EXPECT_EQ(st.st_atim.tv_nsec, 123);
  EXPECT_EQ(st.st_mtim.tv_sec, 1'100'000'000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 456);
}

// default_permissions: the kernel checks mode bits against the caller.
TEST_F(MountTest, Permissions_OtherUserDeniedByModeBits) {
  WriteFile("private", "secret");
  ASSERT_EQ(chmod(P("private").c_str(), 0600), 0);
  WriteFile("public", "hello");
  ASSERT_EQ(chmod(P("public").c_str(), 0644), 0);
  // mkdtemp made the test's directory 0700; let "nobody" reach the mount.
  ASSERT_EQ(chmod(root_.c_str(), 0755), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // As "nobody": may read the 0644 file, nothing else.
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(10);
    if (open(P("private").c_str(), O_RDONLY) != -1 || errno != EACCES) {
      _exit(11);
    }
    int fd = open(P("public").c_str(), O_RDONLY);
    if (fd < 0) _exit(12);
    close(fd);
    if (open(P("public").c_str(), O_WRONLY) != -1 || errno != EACCES) {
      _exit(13);
    }
    if (mkdir(P("nope").c_str(), 0755) != -1 || errno != EACCES) _exit(14);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "10: setuid failed, 11: read a 0600 file, 12: could not read a 0644 "
         "file, 13: wrote a 0644 file, 14: created in a 0755 root dir";
}

// As Linux does: a write by someone other than the owner clears the
// setuid and setgid bits (the kernel asks for it with a SETATTR).
TEST_F(MountTest, WriteByNonOwner_ClearsSetuidAndSetgid) {
  WriteFile("suid", "x");
  ASSERT_EQ(chmod(P("suid").c_str(), 06777), 0);
  ASSERT_EQ(chmod(root_.c_str(), 0755), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(10);
    int fd = open(P("suid").c_str(), O_WRONLY);
    if (fd < 0) _exit(11);
    if (write(fd, "y", 1) != 1) _exit(12);
    close(fd);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "10: setuid, 11: open, 12: write";
  struct stat st;
  ASSERT_EQ(stat(P("suid").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0777u);
}

TEST_F(MountTest, StatFs_Answers) {
  struct statvfs st;
  ASSERT_EQ(statvfs(mnt_.c_str(), &st), 0);
  EXPECT_GT(st.f_blocks, 0u);
  EXPECT_EQ(st.f_namemax, 255u);
}

TEST(MountStartTest, NotEmptyMountPoint_ClearError) {
  char tmpl[] = "/tmp/paxosfs-mount-test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string root = tmpl;
  std::filesystem::create_directories(root + "/mnt/occupied");
  MountOptions options;
  options.mount_point = root + "/mnt";
  auto mount = Mount::Start(options, nullptr);
  ASSERT_FALSE(mount.ok());
  EXPECT_NE(mount.status().message().find("is not empty"), std::string::npos)
      << mount.status().ToString();
  options.mount_point = root + "/missing";
  mount = Mount::Start(options, nullptr);
  ASSERT_FALSE(mount.ok());
  EXPECT_NE(mount.status().message().find("mkdir -p"), std::string::npos)
      << mount.status().ToString();
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace paxosfs::fuse
