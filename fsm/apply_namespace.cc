// Dispatch, shared helpers, and the namespace operations other than rename.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "fsm/applier.h"
#include "fsm/commands.h"

namespace paxosfs::fsm {
namespace {

// Permission bits a command may carry.
constexpr uint32_t kPermMask = 07777;

}  // namespace

void ToAttr(const InodeRow& row, proto::Attr* a) {
  a->set_ino(row.ino);
  a->set_mode(row.mode);
  a->set_nlink(row.nlink);
  a->set_uid(row.uid);
  a->set_gid(row.gid);
  a->set_size(row.size);
  a->set_blocks((row.stored + 511) / 512);
  a->set_atime_ns(row.atime_ns);
  a->set_mtime_ns(row.mtime_ns);
  a->set_ctime_ns(row.ctime_ns);
  a->set_rdev(row.rdev);
  a->set_blksize(kChunkSize);
}

int CheckName(const std::string& name) {
  if (name.size() > kNameMax) return ENAMETOOLONG;
  // The kernel resolves "." and ".." itself and never sends names holding
  // '/' or NUL: a command carrying one is malformed.
  if (name.empty() || name == "." || name == "..") return EINVAL;
  if (name.find('/') != std::string::npos) return EINVAL;
  if (name.find('\0') != std::string::npos) return EINVAL;
  return 0;
}

StatusOr<proto::Result> Applier::Apply(const proto::Command& c) {
  switch (c.op_case()) {
    case proto::Command::kCreate:
      return Create(c);
    case proto::Command::kMkdir:
      return Mkdir(c);
    case proto::Command::kUnlink:
      return Unlink(c);
    case proto::Command::kRmdir:
      return Rmdir(c);
    case proto::Command::kRename:
      return Rename(c);
    case proto::Command::kLink:
      return Link(c);
    case proto::Command::kSymlink:
      return Symlink(c);
    case proto::Command::kSetattr:
      return SetAttr(c);
    case proto::Command::kWrite:
      return Write(c);
    case proto::Command::kFallocate:
      return Fallocate(c);
    case proto::Command::kSetxattr:
      return SetXattr(c);
    case proto::Command::kRemovexattr:
      return RemoveXattr(c);
    case proto::Command::kNoop:
      return proto::Result();
    case proto::Command::kCollect:
      return Collect();
    case proto::Command::kRelease:
      return Release(c);
    case proto::Command::kReleaseOrphans:
      return ReleaseOrphans(c);
    case proto::Command::OP_NOT_SET:
      break;
  }
  // An op this build does not know (a newer proposer) or none at all: the
  // same answer on every replica of this version.
  return Err(ENOSYS);
}

StatusOr<int> Applier::Load(uint64_t ino, InodeRow* row) {
  StatusOr<std::optional<InodeRow>> got = store_->GetInode(ino);
  if (!got.ok()) return got.status();
  if (!got->has_value()) return ENOENT;
  *row = std::move(**got);
  return 0;
}

StatusOr<int> Applier::LoadDir(uint64_t ino, InodeRow* row) {
  StatusOr<int> e = Load(ino, row);
  if (!e.ok() || *e != 0) return e;
  return S_ISDIR(row->mode) ? 0 : ENOTDIR;
}

StatusOr<bool> Applier::IsWithin(uint64_t dir, uint64_t ancestor) {
  // Directories have one parent each and the root is its own parent, so the
  // walk ends; its length is bounded by the tree's depth.
  while (true) {
    if (dir == ancestor) return true;
    if (dir == kRootIno) return false;
    InodeRow row;
    StatusOr<int> e = Load(dir, &row);
    if (!e.ok()) return e.status();
    PAXOSFS_CHECK_MSG(*e == 0, "directory parent chain is broken");
    dir = row.parent;
  }
}

InodeRow Applier::NewInode(const proto::Command& c, const InodeRow& parent,
                           uint32_t mode) {
  snapshot::Meta meta = store_->meta();
  InodeRow row;
  row.ino = meta.next_ino++;
  store_->SetMeta(meta);
  row.mode = mode;
  row.uid = c.caller().uid();
  row.gid = c.caller().gid();
  // BSD group semantics under a setgid directory, which Linux filesystems
  // implement themselves (the kernel leaves it to them).
  if (parent.mode & S_ISGID) {
    row.gid = parent.gid;
    if (S_ISDIR(mode)) row.mode |= S_ISGID;
  }
  row.nlink = S_ISDIR(mode) ? 2 : 1;
  row.atime_ns = row.mtime_ns = row.ctime_ns = c.time_ns();
  row.parent = S_ISDIR(mode) ? parent.ino : 0;
  return row;
}

Status Applier::AddEntry(uint64_t parent, const std::string& name,
                         const InodeRow& child) {
  snapshot::Meta meta = store_->meta();
  snapshot::DentryRow d{name, child.ino, child.mode & S_IFMT,
                        meta.next_cookie++};
  store_->SetMeta(meta);
  return store_->PutDentry(parent, d);
}

Status Applier::DropLink(InodeRow& row, const proto::Command& c,
                         proto::Result* r) {
  PAXOSFS_CHECK(!S_ISDIR(row.mode));
  PAXOSFS_CHECK(row.nlink > 0);
  row.nlink--;
  row.ctime_ns = c.time_ns();
  if (row.nlink > 0) return store_->PutInode(row);
  const auto& open = c.keep_open();
  const uint64_t node = c.request_id().node();
  if (node == 0 || std::find(open.begin(), open.end(), row.ino) == open.end()) {
    return FreeInode(row);
  }
  r->set_orphaned(row.ino);
  PAXOSFS_RETURN_IF_ERROR(store_->PutInode(row));
  return store_->PutOrphan({row.ino, node, c.boot()});
}

Status Applier::FreeInode(const InodeRow& row) {
  PAXOSFS_RETURN_IF_ERROR(ReleaseChunks(row));
  return store_->DeleteInode(row.ino);
}

Status Applier::FreeOrphan(uint64_t ino) {
  InodeRow row;
  StatusOr<int> e = Load(ino, &row);
  if (!e.ok()) return e.status();
  PAXOSFS_CHECK(*e == 0);  // An orphan row always has its inode.
  PAXOSFS_RETURN_IF_ERROR(store_->DeleteOrphan(ino));
  return FreeInode(row);
}

StatusOr<proto::Result> Applier::Release(const proto::Command& c) {
  // Only the node that kept it; a repeat or a stray Release does nothing.
  auto orphan = store_->GetOrphan(c.release().inode());
  if (!orphan.ok()) return orphan.status();
  if (!orphan->has_value() || (*orphan)->node != c.request_id().node()) {
    return proto::Result();
  }
  PAXOSFS_RETURN_IF_ERROR(FreeOrphan((*orphan)->ino));
  return proto::Result();
}

StatusOr<proto::Result> Applier::ReleaseOrphans(const proto::Command& c) {
  auto stale = store_->StaleOrphans(c.request_id().node(), c.boot());
  if (!stale.ok()) return stale.status();
  for (uint64_t ino : *stale) PAXOSFS_RETURN_IF_ERROR(FreeOrphan(ino));
  return proto::Result();
}

StatusOr<proto::Result> Applier::EntryResult(const InodeRow& row) {
  proto::Result r;
  ToAttr(row, r.mutable_attr());
  return r;
}

StatusOr<proto::Result> Applier::Create(const proto::Command& c) {
  const proto::Create& op = c.create();
  uint32_t type = op.mode() & S_IFMT;
  if (type == 0) type = S_IFREG;
  if (type != S_IFREG && type != S_IFIFO) return Err(EINVAL);
  if (op.mode() & ~(S_IFMT | kPermMask)) return Err(EINVAL);
  if (int e = CheckName(op.name()); e != 0) return Err(e);
  InodeRow parent;
  StatusOr<int> e = LoadDir(op.parent(), &parent);
  if (!e.ok()) return e.status();
  if (*e != 0) return Err(*e);
  auto existing = store_->GetDentry(parent.ino, op.name());
  if (!existing.ok()) return existing.status();
  if (existing->has_value()) {
    // open(O_CREAT) without O_EXCL opens what is there; mknod never does.
    if (op.exclusive() || type == S_IFIFO) return Err(EEXIST);
    if (S_ISDIR((*existing)->type)) return Err(EISDIR);
    InodeRow row;
    StatusOr<int> le = Load((*existing)->ino, &row);
    if (!le.ok()) return le.status();
    PAXOSFS_CHECK(*le == 0);
    StatusOr<proto::Result> r = EntryResult(row);
    if (r.ok()) r->set_existed(true);
    return r;
  }
  InodeRow row = NewInode(c, parent, type | (op.mode() & kPermMask));
  PAXOSFS_RETURN_IF_ERROR(store_->PutInode(row));
  PAXOSFS_RETURN_IF_ERROR(AddEntry(parent.ino, op.name(), row));
  parent.mtime_ns = parent.ctime_ns = c.time_ns();
  PAXOSFS_RETURN_IF_ERROR(store_->PutInode(parent));
  return EntryResult(row);
}

StatusOr<proto::Result> Applier::Mkdir(const proto::Command& c) {
  const proto::Mkdir& op = c.mkdir();
  uint32_t type = op.mode() & S_IFMT;
  if (type != 0 && type != S_IFDIR) return Err(EINVAL);
  if (op.mode() & ~(S_IFMT | kPermMask)) return Err(EINVAL);
  if (int e = CheckName(op.name()); e != 0) return Err(e);
  InodeRow parent;
  StatusOr<int> e = LoadDir(op.parent(), &parent);
  if (!e.ok()) return e.status();
  if (*e != 0) return Err(*e);
  auto existing = store_->GetDentry(parent.ino, op.name());
  if (!existing.ok()) return existing.status();
  if (existing->has_value()) return Err(EEXIST);
  // mkdir(2) keeps only the permission and sticky bits; setgid comes from a
  // setgid parent alone.
  InodeRow row = NewInode(c, parent, S_IFDIR | (op.mode() & 01777));
  PAXOSFS_RETURN_IF_ERROR(store_->PutInode(row));
  PAXOSFS_RETURN_IF_ERROR(AddEntry(parent.ino, op.name(), row));
  parent.nlink++;
  parent.mtime_ns = parent.ctime_ns = c.time_ns();
  PAXOSFS_RETURN_IF_ERROR(store_->PutInode(parent));
  return EntryResult(row);
}

StatusOr<proto::Result> Applier::Unlink(const proto::Command& c) {
  const proto::Unlink& op = c.unlink();
  if (int e = CheckName(op.name()); e != 0) return Err(e);
  InodeRow parent;
  StatusOr<int> e = LoadDir(op.parent(), &parent);
  if (!e.ok()) return e.status();
  if (*e != 0) return Err(*e);
  auto entry = store_->GetDentry(parent.ino, op.name());
  if (!entry.ok()) return entry.status();
  if (!entry->has_value()) return Err(ENOENT);
  if (S_ISDIR((*entry)->type)) return Err(EISDIR);
  InodeRow row;
  StatusOr<int> le = Load((*entry)->ino, &row);
  if (!le.ok()) return le.status();
  PAXOSFS_CHECK(*le == 0);
  PAXOSFS_RETURN_IF_ERROR(store_->DeleteDentry(parent.ino, op.name()));
  proto::Result r;
  PAXOSFS_RETURN_IF_ERROR(DropLink(row, c, &r));
  parent.mtime_ns = parent.ctime_ns = c.time_ns();
  PAXOSFS_RETURN_IF_ERROR(store_->PutInode(parent));
  return r;
}

StatusOr<proto::Result> Applier::Rmdir(const proto::Command& c) {
  const proto::Rmdir& op = c.rmdir();
  if (int e = CheckName(op.name()); e != 0) return Err(e);
  InodeRow parent;
  StatusOr<int> e = LoadDir(op.parent(), &parent);
  if (!e.ok()) return e.status();
  if (*e != 0) return Err(*e);
  auto entry = store_->GetDentry(parent.ino, op.name());
  if (!entry.ok()) return entry.status();
  if (!entry->has_value()) return Err(ENOENT);
  if (!S_ISDIR((*entry)->type)) return Err(ENOTDIR);
  StatusOr<bool> busy = store_->HasDentries((*entry)->ino);
  if (!busy.ok()) return busy.status();
  if (*busy) return Err(ENOTEMPTY);
  PAXOSFS_RETURN_IF_ERROR(store_->DeleteDentry(parent.ino, op.name()));
  PAXOSFS_RETURN_IF_ERROR(store_->DeleteInode((*entry)->ino));
  parent.nlink--;
  parent.mtime_ns = parent.ctime_ns = c.time_ns();
  PAXOSFS_RETURN_IF_ERROR(store_->PutInode(parent));
  return proto::Result();
}

StatusOr<proto::Result> Applier::Link(const proto::Command& c) {
  const proto::Link& op = c.link();
  if (int e = CheckName(op.new_name()); e != 0) return Err(e);
  InodeRow row;
  StatusOr<int> e = Load(op.inode(), &row);
  if (!e.ok()) return e.status();
  if (*e != 0) return Err(*e);
  InodeRow parent;
  e = LoadDir(op.new_parent(), &parent);
  if (!e.ok()) return e.status();
  if (*e != 0) return Err(*e);
  auto existing = store_->GetDentry(parent.ino, op.new_name());
  if (!existing.ok()) return existing.status();
  // linkat(2) looks the new name up before it looks at the inode's type.
  if (existing->has_value()) return Err(EEXIST);
  if (S_ISDIR(row.mode)) return Err(EPERM);
  // An orphan stays nameless, as linkat(2) refuses an unlinked file.
  if (row.nlink == 0) return Err(ENOENT);
  row.nlink++;
  row.ctime_ns = c.time_ns();
  PAXOSFS_RETURN_IF_ERROR(store_->PutInode(row));
  PAXOSFS_RETURN_IF_ERROR(AddEntry(parent.ino, op.new_name(), row));
  parent.mtime_ns = parent.ctime_ns = c.time_ns();
  PAXOSFS_RETURN_IF_ERROR(store_->PutInode(parent));
  return EntryResult(row);
}

StatusOr<proto::Result> Applier::Symlink(const proto::Command& c) {
  const proto::Symlink& op = c.symlink();
  if (int e = CheckName(op.name()); e != 0) return Err(e);
  if (op.target().empty()) return Err(ENOENT);
  if (op.target().size() > kSymlinkMax) return Err(ENAMETOOLONG);
  if (op.target().find('\0') != std::string::npos) return Err(EINVAL);
  InodeRow parent;
  StatusOr<int> e = LoadDir(op.parent(), &parent);
  if (!e.ok()) return e.status();
  if (*e != 0) return Err(*e);
  auto existing = store_->GetDentry(parent.ino, op.name());
  if (!existing.ok()) return existing.status();
  if (existing->has_value()) return Err(EEXIST);
  InodeRow row = NewInode(c, parent, S_IFLNK | 0777);
  row.target = op.target();
  row.size = op.target().size();
  PAXOSFS_RETURN_IF_ERROR(store_->PutInode(row));
  PAXOSFS_RETURN_IF_ERROR(AddEntry(parent.ino, op.name(), row));
  parent.mtime_ns = parent.ctime_ns = c.time_ns();
  PAXOSFS_RETURN_IF_ERROR(store_->PutInode(parent));
  return EntryResult(row);
}

}  // namespace paxosfs::fsm
