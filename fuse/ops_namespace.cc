// Handlers for names and attributes: lookup, getattr/setattr, create-like
// operations, unlink/rmdir, rename, link, symlink/readlink.
#include <cerrno>
#include <string>

#include "fuse/context.h"

namespace paxosfs::fuse {
namespace {

// FUSE's setattr bits are passed to the state machine unchanged.
static_assert(FUSE_SET_ATTR_MODE == proto::SETATTR_MODE);
static_assert(FUSE_SET_ATTR_UID == proto::SETATTR_UID);
static_assert(FUSE_SET_ATTR_GID == proto::SETATTR_GID);
static_assert(FUSE_SET_ATTR_SIZE == proto::SETATTR_SIZE);
static_assert(FUSE_SET_ATTR_ATIME == proto::SETATTR_ATIME);
static_assert(FUSE_SET_ATTR_MTIME == proto::SETATTR_MTIME);
static_assert(FUSE_SET_ATTR_ATIME_NOW == proto::SETATTR_ATIME_NOW);
static_assert(FUSE_SET_ATTR_MTIME_NOW == proto::SETATTR_MTIME_NOW);
static_assert(FUSE_SET_ATTR_CTIME == proto::SETATTR_CTIME);

int64_t Nanos(const timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  fsm::Reader* reader = BarrierReader(req);
  if (reader == nullptr) return;
  uint64_t ticket = ContextOf(req)->backend->CacheTicket();
  ReplyLookup(req, ticket, reader->Lookup(parent, name));
}

// Inode numbers are never reused and the adapter keeps no per-inode state,
// so the kernel's lookup counts need no bookkeeping here.
void Forget(fuse_req_t req, fuse_ino_t, uint64_t) { fuse_reply_none(req); }

void ForgetMulti(fuse_req_t req, size_t, fuse_forget_data*) {
  fuse_reply_none(req);
}

void GetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  fsm::Reader* reader = BarrierReader(req);
  if (reader == nullptr) return;
  uint64_t ticket = ContextOf(req)->backend->CacheTicket();
  ReplyGetAttr(req, ticket, reader->GetAttr(ino));
}

void SetAttr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
             fuse_file_info*) {
  proto::Command c = NewCommand(req);
  proto::SetAttr* s = c.mutable_setattr();
  s->set_inode(ino);
  s->set_valid(static_cast<uint32_t>(to_set));
  s->set_mode(attr->st_mode);
  s->set_uid(attr->st_uid);
  s->set_gid(attr->st_gid);
  s->set_size(static_cast<uint64_t>(attr->st_size));
  s->set_atime_ns(Nanos(attr->st_atim));
  s->set_mtime_ns(Nanos(attr->st_mtim));
  s->set_ctime_ns(Nanos(attr->st_ctim));
  ReplyAttr(req, Execute(req, std::move(c)));
}

void ReadLink(fuse_req_t req, fuse_ino_t ino) {
  fsm::Reader* reader = BarrierReader(req);
  if (reader == nullptr) return;
  StatusOr<proto::Result> r = reader->ReadLink(ino);
  if (ReplyIfFailed(req, r)) return;
  fuse_reply_readlink(req, r->data().c_str());
}

void MkNod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
           dev_t) {
  proto::Command c = NewCommand(req);
  proto::Create* create = c.mutable_create();
  create->set_parent(parent);
  create->set_name(name);
  create->set_mode(mode);
  create->set_exclusive(true);  // mknod(2) fails with EEXIST.
  ReplyEntry(req, Execute(req, std::move(c)));
}

void MkDir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  proto::Command c = NewCommand(req);
  c.mutable_mkdir()->set_parent(parent);
  c.mutable_mkdir()->set_name(name);
  c.mutable_mkdir()->set_mode(mode);
  ReplyEntry(req, Execute(req, std::move(c)));
}

void Unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  proto::Command c = NewCommand(req);
  c.mutable_unlink()->set_parent(parent);
  c.mutable_unlink()->set_name(name);
  ReplyErr(req, ExecuteRemoving(req, parent, name, std::move(c)));
}

void RmDir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  proto::Command c = NewCommand(req);
  c.mutable_rmdir()->set_parent(parent);
  c.mutable_rmdir()->set_name(name);
  ReplyErr(req, Execute(req, std::move(c)));
}

void SymLink(fuse_req_t req, const char* target, fuse_ino_t parent,
             const char* name) {
  proto::Command c = NewCommand(req);
  c.mutable_symlink()->set_parent(parent);
  c.mutable_symlink()->set_name(name);
  c.mutable_symlink()->set_target(target);
  ReplyEntry(req, Execute(req, std::move(c)));
}

void Rename(fuse_req_t req, fuse_ino_t parent, const char* name,
            fuse_ino_t new_parent, const char* new_name, unsigned int flags) {
  proto::Command c = NewCommand(req);
  proto::Rename* r = c.mutable_rename();
  r->set_parent(parent);
  r->set_name(name);
  r->set_new_parent(new_parent);
  r->set_new_name(new_name);
  r->set_flags(flags);
  ReplyErr(req, ExecuteRemoving(req, new_parent, new_name, std::move(c)));
}

void Link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t new_parent,
          const char* new_name) {
  proto::Command c = NewCommand(req);
  c.mutable_link()->set_inode(ino);
  c.mutable_link()->set_new_parent(new_parent);
  c.mutable_link()->set_new_name(new_name);
  ReplyEntry(req, Execute(req, std::move(c)));
}

}  // namespace

void AddNamespaceOps(fuse_lowlevel_ops* ops) {
  ops->lookup = Lookup;
  ops->forget = Forget;
  ops->forget_multi = ForgetMulti;
  ops->getattr = GetAttr;
  ops->setattr = SetAttr;
  ops->readlink = ReadLink;
  ops->mknod = MkNod;
  ops->mkdir = MkDir;
  ops->unlink = Unlink;
  ops->rmdir = RmDir;
  ops->symlink = SymLink;
  ops->rename = Rename;
  ops->link = Link;
}

}  // namespace paxosfs::fuse
