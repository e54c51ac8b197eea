// Handlers for file data, directories' contents, xattrs and statfs.
#include <fcntl.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <string>
#include <vector>

#include "fsm/commands.h"
#include "fuse/context.h"

namespace paxosfs::fuse {
namespace {

// Every write is chosen by a majority before it returns, so there is
// nothing left to flush or sync. ENOSYS tells the kernel so once: it then
// completes every later close, fsync and fsyncdir on this mount itself
// (fc->no_flush, no_fsync, no_fsyncdir), saving each a round trip through
// a worker thread.
void ReplyDurable(fuse_req_t req) { fuse_reply_err(req, ENOSYS); }

// Writable opens bypass the page cache. In write-through mode the kernel
// copies a write into an up-to-date cached page before it sends us the
// WRITE, so a reader on this node could see bytes that are not chosen yet
// (and a later read, after an open dropped the cache, not see them): a
// stale-read anomaly tests/faults found. Direct I/O keeps the page cache
// filled by reads only, from chosen state. The cost: no shared writable
// mmap of files on the mount (ENODEV; libfuse 3.14 cannot ask for
// FUSE_DIRECT_IO_ALLOW_MMAP), and reads through a writable descriptor are
// not cached.
void BypassCacheIfWritable(fuse_file_info* fi) {
  if ((fi->flags & O_ACCMODE) != O_RDONLY) fi->direct_io = 1;
}

// Records an open of `ino` (fuse/page_cache.h) after BypassCacheIfWritable;
// returns whether the kernel may keep the file's cached pages.
bool RecordOpen(fuse_req_t req, uint64_t ino, const fuse_file_info* fi) {
  Context* context = ContextOf(req);
  return context->opened.Keep(ino, context->backend->DataVersion(ino),
                              fi->direct_io == 0);
}

proto::Command TruncateCommand(fuse_req_t req, uint64_t ino) {
  proto::Command c = NewCommand(req);
  c.mutable_setattr()->set_inode(ino);
  c.mutable_setattr()->set_valid(proto::SETATTR_SIZE);
  c.mutable_setattr()->set_size(0);
  return c;
}

void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
            fuse_file_info* fi) {
  proto::Command c = NewCommand(req);
  proto::Create* create = c.mutable_create();
  create->set_parent(parent);
  create->set_name(name);
  create->set_mode(mode);
  create->set_exclusive((fi->flags & O_EXCL) != 0);
  StatusOr<proto::Result> r = Execute(req, std::move(c));
  // Another node created the name since the kernel's lookup: open it as
  // open(2) would, truncating if asked.
  if (r.ok() && r->error() == 0 && r->existed() && (fi->flags & O_TRUNC)) {
    r = Execute(req, TruncateCommand(req, r->attr().ino()));
  }
  if (ReplyIfFailed(req, r)) return;
  fuse_entry_param e = EntryParam(r->attr());
  BypassCacheIfWritable(fi);
  // A read-only create reads through the page cache like an open; the
  // kernel drops what it may hold of a file that existed (no keep_cache).
  RecordOpen(req, r->attr().ino(), fi);
  Context* context = ContextOf(req);
  context->open_files.Opened(r->attr().ino());
  // Interrupted: the kernel will not release what it never opened.
  if (fuse_reply_create(req, &e, fi) != 0) Closed(context, r->attr().ino());
}

void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  RaiseReadahead(req);
  fsm::Reader* reader = BarrierReader(req);
  if (reader == nullptr) return;
  // The barrier makes a file removed elsewhere fail here, not later.
  StatusOr<proto::Result> r = reader->GetAttr(ino);
  // libfuse asks the kernel for atomic O_TRUNC: truncating is our job.
  if (r.ok() && r->error() == 0 && (fi->flags & O_TRUNC) &&
      r->attr().size() > 0) {
    r = Execute(req, TruncateCommand(req, ino));
  }
  if (ReplyIfFailed(req, r)) return;
  BypassCacheIfWritable(fi);
  // After the barrier (and our own truncate), so the version covers every
  // change that completed before this open.
  fi->keep_cache = RecordOpen(req, ino, fi) ? 1 : 0;
  Context* context = ContextOf(req);
  context->open_files.Opened(ino);
  if (fuse_reply_open(req, fi) != 0) Closed(context, ino);
}

void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
          fuse_file_info*) {
  // The open passed a barrier; later reads of an open file may trail
  // others' writes by this node's apply lag, exactly as page cache hits
  // do (fuse/README.md).
  fsm::Reader* reader = LocalReader(req);
  if (reader == nullptr) return;
  StatusOr<proto::Result> r =
      reader->Read(ino, static_cast<uint64_t>(off), size);
  if (ReplyIfFailed(req, r)) return;
  fuse_reply_buf(req, r->data().data(), r->data().size());
}

void Write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size,
           off_t off, fuse_file_info* fi) {
  proto::Command c = NewCommand(req);
  fsm::SetWrite(ino, static_cast<uint64_t>(off), std::string_view(buf, size),
                &c);
  // The kernel's offset for O_APPEND is its cached size, which another node
  // may have outgrown: let apply put the bytes at the real end.
  c.mutable_write()->set_append((fi->flags & O_APPEND) != 0);
  StatusOr<proto::Result> r = Execute(req, std::move(c));
  if (ReplyIfFailed(req, r)) return;
  fuse_reply_write(req, r->written());
}

void Flush(fuse_req_t req, fuse_ino_t, fuse_file_info*) { ReplyDurable(req); }
void Release(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  Closed(ContextOf(req), ino);
  fuse_reply_err(req, 0);
}
void Fsync(fuse_req_t req, fuse_ino_t, int, fuse_file_info*) {
  ReplyDurable(req);
}

void OpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  fsm::Reader* reader = BarrierReader(req);
  if (reader == nullptr) return;
  StatusOr<proto::Result> r = reader->GetAttr(ino);
  if (ReplyIfFailed(req, r)) return;
  fuse_reply_open(req, fi);
}

void ReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
             fuse_file_info*) {
  fsm::Reader* reader = BarrierReader(req);
  if (reader == nullptr) return;
  // A directory entry takes at least 32 bytes in the reply.
  uint32_t max_entries = static_cast<uint32_t>(size / 32 + 1);
  StatusOr<proto::Result> r =
      reader->ReadDir(ino, static_cast<uint64_t>(off), max_entries);
  if (ReplyIfFailed(req, r)) return;
  std::vector<char> buf(size);
  size_t used = 0;
  for (const proto::DirEntry& e : r->entries()) {
    struct stat st = {};
    st.st_ino = e.ino();
    st.st_mode = e.mode();
    size_t n =
        fuse_add_direntry(req, buf.data() + used, size - used, e.name().c_str(),
                          &st, static_cast<off_t>(e.offset()));
    if (n > size - used) break;  // Did not fit; the next call resumes here.
    used += n;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void ReleaseDir(fuse_req_t req, fuse_ino_t, fuse_file_info*) {
  fuse_reply_err(req, 0);
}

void StatFs(fuse_req_t req, fuse_ino_t) {
  fsm::Reader* reader = BarrierReader(req);
  if (reader == nullptr) return;
  StatusOr<proto::Result> r = reader->StatFs();
  if (ReplyIfFailed(req, r)) return;
  const proto::StatFs& s = r->statfs();
  struct statvfs st = {};
  st.f_bsize = s.block_size();
  st.f_frsize = s.block_size();
  st.f_blocks = s.blocks();
  st.f_bfree = s.blocks_free();
  st.f_bavail = s.blocks_free();
  st.f_files = s.files();
  st.f_ffree = s.files_free();
  st.f_favail = s.files_free();
  st.f_namemax = s.name_max();
  fuse_reply_statfs(req, &st);
}

// getxattr/listxattr: size 0 asks for the length, too small is ERANGE.
void ReplySized(fuse_req_t req, const std::string& value, size_t size) {
  if (size == 0) {
    fuse_reply_xattr(req, value.size());
  } else if (value.size() > size) {
    fuse_reply_err(req, ERANGE);
  } else {
    fuse_reply_buf(req, value.data(), value.size());
  }
}

void SetXattr(fuse_req_t req, fuse_ino_t ino, const char* name,
              const char* value, size_t size, int flags) {
  proto::Command c = NewCommand(req);
  proto::SetXattr* s = c.mutable_setxattr();
  s->set_inode(ino);
  s->set_name(name);
  s->set_value(std::string(value, size));
  s->set_flags(static_cast<uint32_t>(flags));
  ReplyErr(req, Execute(req, std::move(c)));
}

void GetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  // Before every write the kernel asks for the length of
  // security.capability (to drop capabilities on write, as Linux does). A
  // read barrier there would cost a follower a round trip to the leader per
  // write; the applied state answers it, and a capability set on another
  // node within the last moments races with the write anyway.
  bool kernel_probe =
      size == 0 && std::strcmp(name, "security.capability") == 0;
  fsm::Reader* reader = kernel_probe ? LocalReader(req) : BarrierReader(req);
  if (reader == nullptr) return;
  StatusOr<proto::Result> r = reader->GetXattr(ino, name);
  if (ReplyIfFailed(req, r)) return;
  ReplySized(req, r->data(), size);
}

void ListXattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  fsm::Reader* reader = BarrierReader(req);
  if (reader == nullptr) return;
  StatusOr<proto::Result> r = reader->ListXattr(ino);
  if (ReplyIfFailed(req, r)) return;
  std::string names;
  for (const std::string& n : r->names()) {
    names += n;
    names.push_back('\0');
  }
  ReplySized(req, names, size);
}

void RemoveXattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  proto::Command c = NewCommand(req);
  c.mutable_removexattr()->set_inode(ino);
  c.mutable_removexattr()->set_name(name);
  ReplyErr(req, Execute(req, std::move(c)));
}

void Fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
               off_t length, fuse_file_info*) {
  proto::Command c = NewCommand(req);
  proto::Fallocate* f = c.mutable_fallocate();
  f->set_inode(ino);
  f->set_mode(static_cast<uint32_t>(mode));
  f->set_offset(static_cast<uint64_t>(offset));
  f->set_length(static_cast<uint64_t>(length));
  ReplyErr(req, Execute(req, std::move(c)));
}

}  // namespace

void AddDataOps(fuse_lowlevel_ops* ops) {
  ops->create = Create;
  ops->open = Open;
  ops->read = Read;
  ops->write = Write;
  ops->flush = Flush;
  ops->release = Release;
  ops->fsync = Fsync;
  ops->opendir = OpenDir;
  ops->readdir = ReadDir;
  ops->releasedir = ReleaseDir;
  ops->fsyncdir = Fsync;
  ops->statfs = StatFs;
  ops->setxattr = SetXattr;
  ops->getxattr = GetXattr;
  ops->listxattr = ListXattr;
  ops->removexattr = RemoveXattr;
  ops->fallocate = Fallocate;
}

}  // namespace paxosfs::fuse
