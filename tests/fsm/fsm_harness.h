// Test helpers: build Commands tersely and apply them one per slot.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "fsm/commands.h"
#include "fsm/filesystem.h"
#include "gtest/gtest.h"

namespace paxosfs::fsm::testing {

namespace cmd {
inline proto::Command Create(uint64_t parent, const std::string& name,
                             uint32_t mode, bool exclusive = true) {
  proto::Command c;
  auto* op = c.mutable_create();
  op->set_parent(parent);
  op->set_name(name);
  op->set_mode(mode);
  op->set_exclusive(exclusive);
  return c;
}
inline proto::Command Mkdir(uint64_t parent, const std::string& name,
                            uint32_t mode) {
  proto::Command c;
  auto* op = c.mutable_mkdir();
  op->set_parent(parent);
  op->set_name(name);
  op->set_mode(mode);
  return c;
}
inline proto::Command Unlink(uint64_t parent, const std::string& name) {
  proto::Command c;
  c.mutable_unlink()->set_parent(parent);
  c.mutable_unlink()->set_name(name);
  return c;
}
inline proto::Command Rmdir(uint64_t parent, const std::string& name) {
  proto::Command c;
  c.mutable_rmdir()->set_parent(parent);
  c.mutable_rmdir()->set_name(name);
  return c;
}
inline proto::Command Rename(uint64_t parent, const std::string& name,
                             uint64_t new_parent, const std::string& new_name,
                             uint32_t flags = 0) {
  proto::Command c;
  auto* op = c.mutable_rename();
  op->set_parent(parent);
  op->set_name(name);
  op->set_new_parent(new_parent);
  op->set_new_name(new_name);
  op->set_flags(flags);
  return c;
}
inline proto::Command Link(uint64_t ino, uint64_t new_parent,
                           const std::string& new_name) {
  proto::Command c;
  auto* op = c.mutable_link();
  op->set_inode(ino);
  op->set_new_parent(new_parent);
  op->set_new_name(new_name);
  return c;
}
inline proto::Command Symlink(uint64_t parent, const std::string& name,
                              const std::string& target) {
  proto::Command c;
  auto* op = c.mutable_symlink();
  op->set_parent(parent);
  op->set_name(name);
  op->set_target(target);
  return c;
}
inline proto::Command Truncate(uint64_t ino, uint64_t size) {
  proto::Command c;
  c.mutable_setattr()->set_inode(ino);
  c.mutable_setattr()->set_valid(proto::SETATTR_SIZE);
  c.mutable_setattr()->set_size(size);
  return c;
}
inline proto::Command Chmod(uint64_t ino, uint32_t mode) {
  proto::Command c;
  c.mutable_setattr()->set_inode(ino);
  c.mutable_setattr()->set_valid(proto::SETATTR_MODE);
  c.mutable_setattr()->set_mode(mode);
  return c;
}
inline proto::Command Write(uint64_t ino, uint64_t offset,
                            const std::string& data) {
  proto::Command c;
  SetWrite(ino, offset, data, &c);
  return c;
}
inline proto::Command Fallocate(uint64_t ino, uint32_t mode, uint64_t offset,
                                uint64_t length) {
  proto::Command c;
  auto* op = c.mutable_fallocate();
  op->set_inode(ino);
  op->set_mode(mode);
  op->set_offset(offset);
  op->set_length(length);
  return c;
}
inline proto::Command SetXattr(uint64_t ino, const std::string& name,
                               const std::string& value, uint32_t flags = 0) {
  proto::Command c;
  auto* op = c.mutable_setxattr();
  op->set_inode(ino);
  op->set_name(name);
  op->set_value(value);
  op->set_flags(flags);
  return c;
}
inline proto::Command RemoveXattr(uint64_t ino, const std::string& name) {
  proto::Command c;
  c.mutable_removexattr()->set_inode(ino);
  c.mutable_removexattr()->set_name(name);
  return c;
}
}  // namespace cmd

// A fresh directory under the system temp dir, removed at destruction.
class TempDir {
 public:
  // Under `parent` if given and writable, else the system temp dir.
  explicit TempDir(const std::string& parent = "") {
    std::filesystem::path base =
        !parent.empty() && ::access(parent.c_str(), W_OK) == 0
            ? std::filesystem::path(parent)
            : std::filesystem::temp_directory_path();
    std::string tmpl = (base / "paxosfs-fsm-XXXXXX").string();
    PAXOSFS_CHECK(mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A Filesystem plus a slot counter: each Do() applies one command in its
// own slot, stamped with a deterministic time.
class Harness {
 public:
  explicit Harness(const std::string& path, Options options = Options())
      : path_(path), options_(options) {
    Reopen();
  }
  void Reopen() {
    fs_.reset();
    auto fs = Filesystem::Open(path_, options_);
    PAXOSFS_CHECK_MSG(fs.ok(), fs.status().ToString().c_str());
    fs_ = std::move(*fs);
    slot_ = fs_->AppliedIndex();
    auto reader = fs_->NewReader();
    PAXOSFS_CHECK(reader.ok());
    reader_ = std::move(*reader);
  }
  proto::Result Do(proto::Command c) {
    if (c.time_ns() == 0) c.set_time_ns(1000 + int64_t(slot_) * 1000);
    auto results = fs_->Apply(slot_ + 1, {c.SerializeAsString()});
    PAXOSFS_CHECK_MSG(results.ok(), results.status().ToString().c_str());
    ++slot_;
    proto::Result r;
    PAXOSFS_CHECK(r.ParseFromString(results->at(0)));
    return r;
  }
  Filesystem& fs() { return *fs_; }
  Reader& reader() { return *reader_; }
  uint64_t slot() const { return slot_; }

 private:
  std::string path_;
  Options options_;
  std::unique_ptr<Filesystem> fs_;
  std::unique_ptr<Reader> reader_;
  uint64_t slot_ = 0;
};

inline proto::Result Ok(StatusOr<proto::Result> r) {
  PAXOSFS_CHECK_MSG(r.ok(), r.status().ToString().c_str());
  return std::move(*r);
}

}  // namespace paxosfs::fsm::testing
