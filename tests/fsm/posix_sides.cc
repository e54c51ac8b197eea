#include "tests/fsm/posix_sides.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace paxosfs::fsm::testing {
namespace {

const char* KindName(OpKind k) {
  static const char* kNames[] = {
      "create", "mkfifo", "mkdir",    "unlink",      "rmdir",
      "rename", "link",   "symlink",  "truncate",    "write",
      "chmod",  "chown",  "setxattr", "removexattr", "fallocate"};
  return kNames[static_cast<int>(k)];
}

Outcome Result(int rc) { return Outcome{rc < 0 ? errno : 0, 0}; }

bool IsUserXattr(const std::string& name) {
  return name.compare(0, 5, "user.") == 0;
}

}  // namespace

std::string Op::ToString() const {
  char buf[200];
  std::snprintf(buf, sizeof(buf),
                " mode=0%o flags=%u off=%llu len=%llu uid=%u gid=%u", mode,
                flags, static_cast<unsigned long long>(offset),
                static_cast<unsigned long long>(length), uid, gid);
  std::string s = std::string(KindName(kind)) + "(" + path;
  if (!path2.empty()) s += ", " + path2;
  s += buf;
  if (kind == OpKind::kSetXattr || kind == OpKind::kRemoveXattr) {
    s += " name=" + data + " value=" + value;
  } else if (!data.empty()) {
    s += " data=" + std::to_string(data.size()) + "B";
  }
  return s + ")";
}

Outcome RealSide::Open(const Op& op, int flags) {
  int fd =
      ::open(Path(op.path).c_str(), flags | O_NOFOLLOW | O_NONBLOCK, op.mode);
  if (fd < 0) return Outcome{errno, 0};
  Outcome out;
  if (op.kind == OpKind::kWrite) {
    ssize_t n = ::pwrite(fd, op.data.data(), op.data.size(), op.offset);
    out = n < 0 ? Outcome{errno, 0} : Outcome{0, uint64_t(n)};
  } else if (op.kind == OpKind::kFallocate) {
    out = Result(::fallocate(fd, op.flags, op.offset, op.length));
  }
  ::close(fd);
  return out;
}

Outcome RealSide::Do(const Op& op) {
  const std::string p = Path(op.path);
  switch (op.kind) {
    case OpKind::kCreate:
      return Open(op, O_CREAT | O_RDONLY | (op.flags ? O_EXCL : 0));
    case OpKind::kMkfifo:
      return Result(::mkfifo(p.c_str(), op.mode));
    case OpKind::kMkdir:
      return Result(::mkdir(p.c_str(), op.mode));
    case OpKind::kUnlink:
      return Result(::unlink(p.c_str()));
    case OpKind::kRmdir:
      return Result(::rmdir(p.c_str()));
    case OpKind::kRename:
      return Result(::renameat2(AT_FDCWD, p.c_str(), AT_FDCWD,
                                Path(op.path2).c_str(), op.flags));
    case OpKind::kLink:
      return Result(::link(p.c_str(), Path(op.path2).c_str()));
    case OpKind::kSymlink:
      return Result(::symlink(op.path2.c_str(), p.c_str()));
    case OpKind::kTruncate:
      return Result(::truncate(p.c_str(), off_t(op.length)));
    case OpKind::kWrite:
    case OpKind::kFallocate:
      return Open(op, O_WRONLY);
    case OpKind::kChmod:
      return Result(::chmod(p.c_str(), op.mode));
    case OpKind::kChown:
      return Result(::lchown(p.c_str(), op.uid, op.gid));
    case OpKind::kSetXattr:
      return Result(::lsetxattr(p.c_str(), op.data.c_str(), op.value.data(),
                                op.value.size(), int(op.flags)));
    case OpKind::kRemoveXattr:
      return Result(::lremovexattr(p.c_str(), op.data.c_str()));
    case OpKind::kCount:
      break;
  }
  return Outcome{ENOSYS, 0};
}

FsmSide::Walk FsmSide::WalkParent(const std::string& path) {
  Walk w;
  w.parent = root_;
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) {
      w.leaf = path.substr(start);
      return w;
    }
    proto::Result r =
        Ok(h_->reader().Lookup(w.parent, path.substr(start, slash - start)));
    if (r.error() != 0) {
      w.error = r.error();
      return w;
    }
    if (S_ISLNK(r.attr().mode())) {
      w.error = ENOENT;  // Every symlink target in the test dangles.
      return w;
    }
    if (!S_ISDIR(r.attr().mode())) {
      w.error = ENOTDIR;
      return w;
    }
    w.parent = r.attr().ino();
    start = slash + 1;
  }
}

int FsmSide::WalkLeaf(const std::string& path, Walk* walk, proto::Attr* attr) {
  *walk = WalkParent(path);
  if (walk->error != 0) return walk->error;
  proto::Result r = Ok(h_->reader().Lookup(walk->parent, walk->leaf));
  *attr = r.attr();
  return r.error();
}

Outcome FsmSide::Apply(proto::Command c) {
  proto::Result r = h_->Do(std::move(c));
  return Outcome{r.error(), r.written()};
}

Outcome FsmSide::WriteLike(const Op& op) {
  Walk w;
  proto::Attr a;
  if (int e = WalkLeaf(op.path, &w, &a); e != 0) return Outcome{e, 0};
  // open(O_WRONLY | O_NOFOLLOW | O_NONBLOCK): decided by the kernel.
  if (S_ISLNK(a.mode())) return Outcome{ELOOP, 0};
  if (S_ISDIR(a.mode())) return Outcome{EISDIR, 0};
  if (S_ISFIFO(a.mode())) return Outcome{ENXIO, 0};  // No reader.
  if (op.kind == OpKind::kWrite) {
    if (op.data.empty()) return Outcome{0, 0};  // The kernel never sends it.
    return Apply(cmd::Write(a.ino(), op.offset, op.data));
  }
  return Apply(cmd::Fallocate(a.ino(), op.flags, op.offset, op.length));
}

Outcome FsmSide::Do(const Op& op) {
  switch (op.kind) {
    case OpKind::kWrite:
    case OpKind::kFallocate:
      return WriteLike(op);
    case OpKind::kCreate:
      return Create(op);
    case OpKind::kTruncate:
    case OpKind::kChmod:
    case OpKind::kChown:
    case OpKind::kSetXattr:
    case OpKind::kRemoveXattr:
    case OpKind::kLink:
      return OnInode(op);
    default:
      return OnName(op);
  }
}

Outcome FsmSide::Create(const Op& op) {
  Walk w;
  proto::Attr a;
  int leaf_error = WalkLeaf(op.path, &w, &a);
  if (w.error != 0) return Outcome{w.error, 0};
  // An existing symlink with O_NOFOLLOW (and no O_EXCL) fails in the
  // kernel's open; everything else is the filesystem's to decide.
  if (leaf_error == 0 && S_ISLNK(a.mode()) && !op.flags) {
    // may_create_in_sticky(): O_CREAT on someone else's symlink in a
    // sticky world-writable directory is refused before O_NOFOLLOW.
    proto::Attr dir = Ok(h_->reader().GetAttr(w.parent)).attr();
    if ((dir.mode() & S_ISVTX) && (dir.mode() & S_IWOTH) &&
        a.uid() != dir.uid() && a.uid() != 0) {
      return Outcome{EACCES, 0};
    }
    return Outcome{ELOOP, 0};
  }
  return Apply(cmd::Create(w.parent, w.leaf, S_IFREG | op.mode, op.flags));
}

Outcome FsmSide::OnName(const Op& op) {
  Walk w = WalkParent(op.path);
  if (w.error != 0) return Outcome{w.error, 0};
  switch (op.kind) {
    case OpKind::kMkfifo:
      return Apply(cmd::Create(w.parent, w.leaf, S_IFIFO | op.mode));
    case OpKind::kMkdir:
      return Apply(cmd::Mkdir(w.parent, w.leaf, op.mode));
    case OpKind::kUnlink:
      return Apply(cmd::Unlink(w.parent, w.leaf));
    case OpKind::kRmdir:
      return Apply(cmd::Rmdir(w.parent, w.leaf));
    case OpKind::kRename: {
      Walk to = WalkParent(op.path2);
      if (to.error != 0) return Outcome{to.error, 0};
      return Apply(cmd::Rename(w.parent, w.leaf, to.parent, to.leaf, op.flags));
    }
    case OpKind::kSymlink:
      return Apply(cmd::Symlink(w.parent, w.leaf, op.path2));
    default:
      break;
  }
  return Outcome{ENOSYS, 0};
}

Outcome FsmSide::OnInode(const Op& op) {
  Walk w;
  proto::Attr a;
  if (int e = WalkLeaf(op.path, &w, &a); e != 0) return Outcome{e, 0};
  // truncate(2) and chmod(2) follow symlinks, and every test symlink dangles.
  const bool follows =
      op.kind == OpKind::kTruncate || op.kind == OpKind::kChmod;
  if (follows && S_ISLNK(a.mode())) return Outcome{ENOENT, 0};
  switch (op.kind) {
    case OpKind::kLink: {
      Walk to = WalkParent(op.path2);
      if (to.error != 0) return Outcome{to.error, 0};
      return Apply(cmd::Link(a.ino(), to.parent, to.leaf));
    }
    case OpKind::kTruncate:
      return Apply(cmd::Truncate(a.ino(), op.length));
    case OpKind::kChmod:
      return Apply(cmd::Chmod(a.ino(), op.mode));
    case OpKind::kChown:
      return Apply(Chown(op, a));
    case OpKind::kSetXattr:
    case OpKind::kRemoveXattr:
      // xattr_permission(): user.* only on regular files and directories.
      if (IsUserXattr(op.data) && !S_ISREG(a.mode()) && !S_ISDIR(a.mode())) {
        return Outcome{EPERM, 0};
      }
      if (op.kind == OpKind::kSetXattr) {
        return Apply(cmd::SetXattr(a.ino(), op.data, op.value, op.flags));
      }
      return Apply(cmd::RemoveXattr(a.ino(), op.data));
    default:
      break;
  }
  return Outcome{ENOSYS, 0};
}

proto::Command FsmSide::Chown(const Op& op, const proto::Attr& a) {
  proto::Command c;
  auto* s = c.mutable_setattr();
  s->set_inode(a.ino());
  s->set_valid(proto::SETATTR_UID | proto::SETATTR_GID);
  s->set_uid(op.uid);
  s->set_gid(op.gid);
  // notify_change() drops setuid, and setgid with group execute, from a
  // non-directory whose owner changes; FUSE receives it as a mode.
  uint32_t mode = a.mode();
  if (!S_ISDIR(mode)) {
    if (mode & S_ISUID) mode &= ~S_ISUID;
    if ((mode & S_ISGID) && (mode & S_IXGRP)) mode &= ~S_ISGID;
  }
  if (mode != a.mode()) {
    s->set_valid(s->valid() | proto::SETATTR_MODE);
    s->set_mode(mode);
  }
  return c;
}

}  // namespace paxosfs::fsm::testing
