// rename(2) and renameat2(2) with RENAME_NOREPLACE and RENAME_EXCHANGE. The
// checks run in the order Linux's do_renameat2/vfs_rename run them, so that
// a command breaking several rules gets the errno Linux would return.
#include <sys/stat.h>

#include <cerrno>

#include "fsm/applier.h"
#include "fsm/commands.h"

namespace paxosfs::fsm {
namespace {}  // namespace

StatusOr<int> Applier::PlanRename(const proto::Rename& op, RenamePlan* p) {
  const uint32_t flags = op.flags();
  if (flags & ~(kRenameNoReplace | kRenameExchange)) return EINVAL;
  if ((flags & kRenameNoReplace) && (flags & kRenameExchange)) return EINVAL;
  if (int e = CheckName(op.name()); e != 0) return e;
  if (int e = CheckName(op.new_name()); e != 0) return e;
  StatusOr<int> e = LoadDir(op.parent(), &p->old_dir);
  if (!e.ok() || *e != 0) return e;
  e = LoadDir(op.new_parent(), &p->new_dir);
  if (!e.ok() || *e != 0) return e;
  auto src_entry = store_->GetDentry(op.parent(), op.name());
  if (!src_entry.ok()) return src_entry.status();
  if (!src_entry->has_value()) return ENOENT;
  auto dst_entry = store_->GetDentry(op.new_parent(), op.new_name());
  if (!dst_entry.ok()) return dst_entry.status();
  p->has_dst = dst_entry->has_value();
  if ((flags & kRenameNoReplace) && p->has_dst) return EEXIST;
  if ((flags & kRenameExchange) && !p->has_dst) return ENOENT;
  e = Load((*src_entry)->ino, &p->src);
  if (!e.ok()) return e;
  PAXOSFS_CHECK(*e == 0);
  if (p->has_dst) {
    e = Load((*dst_entry)->ino, &p->dst);
    if (!e.ok()) return e;
    PAXOSFS_CHECK(*e == 0);
  }
  // A directory may not move below itself, nor may a rename replace a
  // directory that holds the source (lock_rename's "trap").
  if (S_ISDIR(p->src.mode)) {
    StatusOr<bool> loop = IsWithin(op.new_parent(), p->src.ino);
    if (!loop.ok()) return loop.status();
    if (*loop) return EINVAL;
  }
  if (p->has_dst && S_ISDIR(p->dst.mode)) {
    StatusOr<bool> loop = IsWithin(op.parent(), p->dst.ino);
    if (!loop.ok()) return loop.status();
    if (*loop) return (flags & kRenameExchange) ? EINVAL : ENOTEMPTY;
  }
  return 0;
}

StatusOr<proto::Result> Applier::Rename(const proto::Command& c) {
  const proto::Rename& op = c.rename();
  RenamePlan p;
  StatusOr<int> e = PlanRename(op, &p);
  if (!e.ok()) return e.status();
  if (*e != 0) return Err(*e);
  InodeRow& src = p.src;
  InodeRow& dst = p.dst;
  if (p.has_dst && src.ino == dst.ino) {
    // Two names of one inode: POSIX says do nothing and succeed.
    proto::Result r;
    ToAttr(src, r.mutable_other_attr());
    return r;
  }
  if (op.flags() & kRenameExchange) return Exchange(c, p);
  if (p.has_dst) {
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
  InodeRow& old_dir = p.old_dir;
  InodeRow& new_dir = p.target_dir();
  proto::Result r;
  if (p.has_dst) {
    PAXOSFS_RETURN_IF_ERROR(store_->DeleteDentry(new_dir.ino, op.new_name()));
    if (S_ISDIR(dst.mode)) {
      PAXOSFS_RETURN_IF_ERROR(store_->DeleteInode(dst.ino));
      new_dir.nlink--;
    } else {
      PAXOSFS_RETURN_IF_ERROR(DropLink(dst, c, &r));
    }
  }
  PAXOSFS_RETURN_IF_ERROR(store_->DeleteDentry(old_dir.ino, op.name()));
  PAXOSFS_RETURN_IF_ERROR(AddEntry(new_dir.ino, op.new_name(), src));
  if (S_ISDIR(src.mode) && !p.same_dir()) {
    old_dir.nlink--;
    new_dir.nlink++;
    src.parent = new_dir.ino;
  }
  src.ctime_ns = t;
  PAXOSFS_RETURN_IF_ERROR(store_->PutInode(src));
  PAXOSFS_RETURN_IF_ERROR(TouchDirs(p, t));
  ToAttr(src, r.mutable_other_attr());
  return r;
}

Status Applier::TouchDirs(RenamePlan& p, int64_t time_ns) {
  p.old_dir.mtime_ns = p.old_dir.ctime_ns = time_ns;
  PAXOSFS_RETURN_IF_ERROR(store_->PutInode(p.old_dir));
  if (p.same_dir()) return Status::Ok();
  p.new_dir.mtime_ns = p.new_dir.ctime_ns = time_ns;
  return store_->PutInode(p.new_dir);
}

StatusOr<proto::Result> Applier::Exchange(const proto::Command& c,
                                          RenamePlan& p) {
  const proto::Rename& op = c.rename();
  const int64_t t = c.time_ns();
  InodeRow& old_dir = p.old_dir;
  InodeRow& new_dir = p.target_dir();
  InodeRow& src = p.src;
  InodeRow& dst = p.dst;
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
  if (!p.same_dir()) {
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
  PAXOSFS_RETURN_IF_ERROR(TouchDirs(p, t));
  proto::Result r;
  ToAttr(src, r.mutable_other_attr());
  ToAttr(dst, r.mutable_attr());
  return r;
}

}  // namespace paxosfs::fsm
