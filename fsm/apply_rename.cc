// rename(2) and renameat2(2) with RENAME_NOREPLACE and RENAME_EXCHANGE. The
// checks run in the order Linux's do_renameat2/vfs_rename run them, so that
// a command breaking several rules gets the errno Linux would return.
#include <sys/stat.h>

#include <cerrno>

#include "fsm/applier.h"
#include "fsm/commands.h"

namespace paxosfs::fsm {
namespace {

proto::Result Err(int error) {
  proto::Result r;
  r.set_error(error);
  return r;
}

}  // namespace

StatusOr<proto::Result> Applier::Rename(const proto::Command& c) {
  const proto::Rename& op = c.rename();
  const uint32_t flags = op.flags();
  if (flags & ~(kRenameNoReplace | kRenameExchange)) return Err(EINVAL);
  if ((flags & kRenameNoReplace) && (flags & kRenameExchange)) {
    return Err(EINVAL);
  }
  if (int e = CheckName(op.name()); e != 0) return Err(e);
  if (int e = CheckName(op.new_name()); e != 0) return Err(e);
  InodeRow old_dir, new_dir_row;
  StatusOr<int> e = LoadDir(op.parent(), &old_dir);
  if (!e.ok()) return e.status();
  if (*e != 0) return Err(*e);
  e = LoadDir(op.new_parent(), &new_dir_row);
  if (!e.ok()) return e.status();
  if (*e != 0) return Err(*e);
  // One row when both names are in one directory, so updates to it compose.
  const bool same_dir = old_dir.ino == new_dir_row.ino;
  InodeRow& new_dir = same_dir ? old_dir : new_dir_row;

  auto src_entry = store_->GetDentry(old_dir.ino, op.name());
  if (!src_entry.ok()) return src_entry.status();
  if (!src_entry->has_value()) return Err(ENOENT);
  auto dst_entry = store_->GetDentry(new_dir.ino, op.new_name());
  if (!dst_entry.ok()) return dst_entry.status();
  const bool has_dst = dst_entry->has_value();
  if ((flags & kRenameNoReplace) && has_dst) return Err(EEXIST);
  if ((flags & kRenameExchange) && !has_dst) return Err(ENOENT);

  InodeRow src, dst;
  e = Load((*src_entry)->ino, &src);
  if (!e.ok()) return e.status();
  PAXOSFS_CHECK(*e == 0);
  if (has_dst) {
    e = Load((*dst_entry)->ino, &dst);
    if (!e.ok()) return e.status();
    PAXOSFS_CHECK(*e == 0);
  }
  // A directory may not move below itself, nor may a rename replace a
  // directory that holds the source (lock_rename's "trap").
  if (S_ISDIR(src.mode)) {
    StatusOr<bool> loop = IsWithin(new_dir.ino, src.ino);
    if (!loop.ok()) return loop.status();
    if (*loop) return Err(EINVAL);
  }
  if (has_dst && S_ISDIR(dst.mode)) {
    StatusOr<bool> loop = IsWithin(old_dir.ino, dst.ino);
    if (!loop.ok()) return loop.status();
    if (*loop) return Err((flags & kRenameExchange) ? EINVAL : ENOTEMPTY);
  }
  if (has_dst && src.ino == dst.ino) {
    // Two names of one inode: POSIX says do nothing and succeed.
    proto::Result r;
    ToAttr(src, r.mutable_other_attr());
    return r;
  }
  if (flags & kRenameExchange) return Exchange(c, old_dir, new_dir, src, dst);
  if (has_dst) {
    if (S_ISDIR(src.mode) && !S_ISDIR(dst.mode)) return Err(ENOTDIR);
    if (!S_ISDIR(src.mode) && S_ISDIR(dst.mode)) return Err(EISDIR);
    if (S_ISDIR(dst.mode)) {
      StatusOr<bool> busy = store_->HasDentries(dst.ino);
      if (!busy.ok()) return busy.status();
      if (*busy) return Err(ENOTEMPTY);
    }
  }

  // All checks passed: from here on, only writes.
  const int64_t t = c.time_ns();
  if (has_dst) {
    PAXOSFS_RETURN_IF_ERROR(store_->DeleteDentry(new_dir.ino, op.new_name()));
    if (S_ISDIR(dst.mode)) {
      PAXOSFS_RETURN_IF_ERROR(store_->DeleteInode(dst.ino));
      new_dir.nlink--;
    } else {
      PAXOSFS_RETURN_IF_ERROR(DropLink(dst, t));
    }
  }
  PAXOSFS_RETURN_IF_ERROR(store_->DeleteDentry(old_dir.ino, op.name()));
  PAXOSFS_RETURN_IF_ERROR(AddEntry(new_dir.ino, op.new_name(), src));
  if (S_ISDIR(src.mode) && !same_dir) {
    old_dir.nlink--;
    new_dir.nlink++;
    src.parent = new_dir.ino;
  }
  src.ctime_ns = t;
  PAXOSFS_RETURN_IF_ERROR(store_->PutInode(src));
  old_dir.mtime_ns = old_dir.ctime_ns = t;
  new_dir.mtime_ns = new_dir.ctime_ns = t;
  PAXOSFS_RETURN_IF_ERROR(store_->PutInode(old_dir));
  if (!same_dir) PAXOSFS_RETURN_IF_ERROR(store_->PutInode(new_dir));
  proto::Result r;
  ToAttr(src, r.mutable_other_attr());
  return r;
}

StatusOr<proto::Result> Applier::Exchange(const proto::Command& c,
                                          InodeRow& old_dir, InodeRow& new_dir,
                                          InodeRow& src, InodeRow& dst) {
  const proto::Rename& op = c.rename();
  const bool same_dir = old_dir.ino == new_dir.ino;
  const int64_t t = c.time_ns();
  // The names keep their readdir cookies; only the inodes they name swap.
  auto src_entry = store_->GetDentry(old_dir.ino, op.name());
  auto dst_entry = store_->GetDentry(new_dir.ino, op.new_name());
  if (!src_entry.ok()) return src_entry.status();
  if (!dst_entry.ok()) return dst_entry.status();
  snapshot::DentryRow a = **src_entry;
  snapshot::DentryRow b = **dst_entry;
  std::swap(a.ino, b.ino);
  std::swap(a.type, b.type);
  PAXOSFS_RETURN_IF_ERROR(store_->PutDentry(old_dir.ino, a));
  PAXOSFS_RETURN_IF_ERROR(store_->PutDentry(new_dir.ino, b));
  if (!same_dir) {
    if (S_ISDIR(src.mode)) {
      old_dir.nlink--;
      new_dir.nlink++;
      src.parent = new_dir.ino;
    }
    if (S_ISDIR(dst.mode)) {
      new_dir.nlink--;
      old_dir.nlink++;
      dst.parent = old_dir.ino;
    }
  }
  src.ctime_ns = dst.ctime_ns = t;
  PAXOSFS_RETURN_IF_ERROR(store_->PutInode(src));
  PAXOSFS_RETURN_IF_ERROR(store_->PutInode(dst));
  old_dir.mtime_ns = old_dir.ctime_ns = t;
  new_dir.mtime_ns = new_dir.ctime_ns = t;
  PAXOSFS_RETURN_IF_ERROR(store_->PutInode(old_dir));
  if (!same_dir) PAXOSFS_RETURN_IF_ERROR(store_->PutInode(new_dir));
  proto::Result r;
  ToAttr(src, r.mutable_other_attr());
  ToAttr(dst, r.mutable_attr());
  return r;
}

}  // namespace paxosfs::fsm
