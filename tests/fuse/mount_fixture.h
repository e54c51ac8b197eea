// A real FUSE mount of a one-node, no-consensus backend in a temp
// directory: the fixture of the adapter's tests. Every test unmounts and
// removes what it made, even when it fails.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>

#include "fuse/mount.h"
#include "tests/fuse/local_backend.h"

namespace paxosfs::fuse {

class MountFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/paxosfs-mount-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    mnt_ = root_ + "/mnt";
    ASSERT_EQ(mkdir(mnt_.c_str(), 0755), 0);
    auto fs = fsm::Filesystem::Open(root_ + "/store.db", fsm::Options());
    ASSERT_TRUE(fs.ok()) << fs.status().ToString();
    fs_ = std::move(fs).value();
    backend_ = std::make_unique<LocalBackend>(fs_.get());
    MountOptions options;
    options.mount_point = mnt_;
    auto mount = Mount::Start(options, backend_.get());
    ASSERT_TRUE(mount.ok()) << mount.status().ToString();
    mount_ = std::move(mount).value();
  }

  void TearDown() override {
    if (mount_) mount_->Stop();
    mount_.reset();
    backend_.reset();
    fs_.reset();
    std::filesystem::remove_all(root_);
  }

  std::string P(const std::string& name) { return mnt_ + "/" + name; }

  void WriteFile(const std::string& name, const std::string& data) {
    int fd = open(P(name).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0) << strerror(errno);
    ASSERT_EQ(write(fd, data.data(), data.size()),
              static_cast<ssize_t>(data.size()));
    ASSERT_EQ(close(fd), 0);
  }

  std::string ReadFile(const std::string& name) {
    int fd = open(P(name).c_str(), O_RDONLY);
    if (fd < 0) return "<" + std::string(strerror(errno)) + ">";
    std::string out;
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, n);
    close(fd);
    return out;
  }

  std::set<std::string> List(const std::string& name) {
    std::set<std::string> names;
    DIR* d = opendir(P(name).c_str());
    if (d == nullptr) return names;
    while (dirent* e = readdir(d)) names.insert(e->d_name);
    closedir(d);
    return names;
  }

  std::string root_, mnt_;
  std::unique_ptr<fsm::Filesystem> fs_;
  std::unique_ptr<LocalBackend> backend_;
  std::unique_ptr<Mount> mount_;
};

}  // namespace paxosfs::fuse
