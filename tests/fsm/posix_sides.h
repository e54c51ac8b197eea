// The two sides of the differential test: one runs an operation on a real
// directory through syscalls, the other plays the kernel's part (path walk,
// checks the VFS makes before calling a filesystem) and applies the
// operation to the state machine as the FUSE layer will.
#pragma once

#include <cstdint>
#include <string>

#include "fsm/filesystem.h"
#include "tests/fsm/fsm_harness.h"

namespace paxosfs::fsm::testing {

enum class OpKind {
  kCreate,
  kMkfifo,
  kMkdir,
  kUnlink,
  kRmdir,
  kRename,
  kLink,
  kSymlink,
  kTruncate,
  kWrite,
  kChmod,
  kChown,
  kSetXattr,
  kRemoveXattr,
  kFallocate,
  kCount,
};

// One operation, paths relative to the sequence's directory. Fields beyond
// the paths are used as the kind needs them.
struct Op {
  OpKind kind = OpKind::kCreate;
  std::string path;
  std::string path2;  // Rename/link destination, symlink target.
  uint32_t mode = 0;
  uint32_t flags = 0;  // O_EXCL (create), rename, xattr or fallocate flags.
  uint64_t offset = 0;
  uint64_t length = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string data;   // Write data, xattr name.
  std::string value;  // Xattr value.

  std::string ToString() const;
};

struct Outcome {
  int error = 0;
  uint64_t value = 0;  // Bytes written, for writes.
  bool operator==(const Outcome&) const = default;
};

// Runs operations on a real directory tree rooted at `root`.
class RealSide {
 public:
  explicit RealSide(std::string root) : root_(std::move(root)) {}
  Outcome Do(const Op& op);

 private:
  std::string Path(const std::string& rel) const { return root_ + "/" + rel; }
  Outcome Open(const Op& op, int flags);

  std::string root_;
};

// Runs operations on the state machine, in the directory `root_ino`.
class FsmSide {
 public:
  FsmSide(Harness* h, uint64_t root_ino) : h_(h), root_(root_ino) {}
  Outcome Do(const Op& op);

 private:
  struct Walk {
    int error = 0;
    uint64_t parent = 0;
    std::string leaf;
  };
  // Resolves every component but the last, as the kernel's path walk does
  // (symlinks in the test all dangle, so following one gives ENOENT).
  Walk WalkParent(const std::string& path);
  // Looks the leaf up too; *attr is its attributes when error is 0.
  int WalkLeaf(const std::string& path, Walk* walk, proto::Attr* attr);
  // Opening an existing file for writing: the kernel's checks, then `op`.
  Outcome WriteLike(const Op& op);
  Outcome Create(const Op& op);
  // Operations on a name in a directory the walk resolves.
  Outcome OnName(const Op& op);
  // Operations on the inode an existing path names.
  Outcome OnInode(const Op& op);
  proto::Command Chown(const Op& op, const proto::Attr& attr);
  Outcome Apply(proto::Command c);

  Harness* h_;
  uint64_t root_;
};

}  // namespace paxosfs::fsm::testing
