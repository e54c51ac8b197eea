#include "fuse/context.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "common/logging.h"

namespace paxosfs::fuse {
namespace {

struct ThreadReader {
  Backend* owner = nullptr;
  std::unique_ptr<fsm::Reader> reader;
};
thread_local ThreadReader thread_reader;

StatusOr<fsm::Reader*> ThisThreadsReader(Backend* backend) {
  if (thread_reader.owner != backend || !thread_reader.reader) {
    auto reader = backend->NewReader();
    if (!reader.ok()) return reader.status();
    thread_reader.owner = backend;
    thread_reader.reader = std::move(reader).value();
  }
  return thread_reader.reader.get();
}

}  // namespace

Context* ContextOf(fuse_req_t req) {
  return static_cast<Context*>(fuse_req_userdata(req));
}

int ErrnoFromStatus(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return 0;
    case StatusCode::kNotFound:
      return ENOENT;
    case StatusCode::kAlreadyExists:
      return EEXIST;
    case StatusCode::kInvalidArgument:
      return EINVAL;
    case StatusCode::kNoSpace:
      return ENOSPC;
    case StatusCode::kPermissionDenied:
      return EACCES;
    // No leader within the bound: the caller may retry.
    case StatusCode::kUnavailable:
    case StatusCode::kTimedOut:
      return EAGAIN;
    case StatusCode::kCorruption:
    case StatusCode::kIOError:
    case StatusCode::kAborted:
      return EIO;
  }
  return EIO;
}

void AttrToStat(const proto::Attr& a, struct stat* st) {
  *st = {};
  st->st_ino = a.ino();
  st->st_mode = a.mode();
  st->st_nlink = a.nlink();
  st->st_uid = a.uid();
  st->st_gid = a.gid();
  st->st_size = static_cast<off_t>(a.size());
  st->st_blocks = static_cast<blkcnt_t>(a.blocks());
  st->st_blksize = static_cast<blksize_t>(a.blksize());
  st->st_rdev = a.rdev();
  auto to_ts = [](int64_t ns) {
    return timespec{static_cast<time_t>(ns / 1'000'000'000),
                    static_cast<long>(ns % 1'000'000'000)};
  };
  st->st_atim = to_ts(a.atime_ns());
  st->st_mtim = to_ts(a.mtime_ns());
  st->st_ctim = to_ts(a.ctime_ns());
}

proto::Command NewCommand(fuse_req_t req) {
  proto::Command c;
  const fuse_ctx* ctx = fuse_req_ctx(req);
  c.mutable_caller()->set_uid(ctx->uid);
  c.mutable_caller()->set_gid(ctx->gid);
  c.set_time_ns(ContextOf(req)->clock->WallNanos());
  return c;
}

StatusOr<proto::Result> Execute(fuse_req_t req, proto::Command command) {
  return ContextOf(req)->backend->Execute(std::move(command));
}

void RaiseReadahead(fuse_req_t req) {
  Context* ctx = ContextOf(req);
  if (ctx->readahead_done.exchange(true) || ctx->readahead_path.empty()) {
    return;
  }
  int fd = open(ctx->readahead_path.c_str(), O_WRONLY | O_CLOEXEC);
  const char kValue[] = "1024\n";
  bool ok = fd >= 0 && write(fd, kValue, sizeof(kValue) - 1) > 0;
  int saved = errno;
  if (fd >= 0) close(fd);
  if (!ok) {
    Logf(LogLevel::kDebug, "fuse", "readahead left at the default: %s: %s",
         ctx->readahead_path.c_str(), std::strerror(saved));
  }
}

fsm::Reader* BarrierReader(fuse_req_t req) {
  Status barrier = ContextOf(req)->backend->ReadBarrier();
  if (!barrier.ok()) {
    ReplyStatus(req, barrier);
    return nullptr;
  }
  return LocalReader(req);
}

fsm::Reader* LocalReader(fuse_req_t req) {
  StatusOr<fsm::Reader*> reader = ThisThreadsReader(ContextOf(req)->backend);
  if (!reader.ok()) {
    ReplyStatus(req, reader.status());
    return nullptr;
  }
  return *reader;
}

namespace {

// Names in `c` the file it may remove, if open here; returns its inode or 0.
uint64_t KeepIfOpen(Context* context, uint64_t parent, const std::string& name,
                    proto::Command* c) {
  if (!context->open_files.Any()) return 0;
  // This node's view: if it trails, the command names another inode than
  // it removes, and apply frees the file as it would without a handle.
  StatusOr<fsm::Reader*> reader = ThisThreadsReader(context->backend);
  if (!reader.ok()) return 0;
  StatusOr<proto::Result> found = (*reader)->Lookup(parent, name);
  if (!found.ok() || found->error() != 0) return 0;
  uint64_t ino = found->attr().ino();
  if (!context->open_files.Removing(ino)) return 0;
  c->add_keep_open(ino);
  return ino;
}

// Takes no request: a failed reply has freed it. Apply checks nothing of
// a Release but the proposing node.
void Release(Context* context, uint64_t ino) {
  proto::Command c;
  c.set_time_ns(context->clock->WallNanos());
  c.mutable_release()->set_inode(ino);
  StatusOr<proto::Result> r = context->backend->Execute(std::move(c));
  if (!r.ok()) {
    // Freed when this node's next process starts (ReleaseOrphans).
    Logf(LogLevel::kWarning, "fuse",
         "inode %llu, unlinked and now closed, stays stored: %s",
         static_cast<unsigned long long>(ino), r.status().ToString().c_str());
  }
}

}  // namespace

StatusOr<proto::Result> ExecuteRemoving(fuse_req_t req, uint64_t parent,
                                        const std::string& name,
                                        proto::Command command) {
  Context* context = ContextOf(req);
  uint64_t kept = KeepIfOpen(context, parent, name, &command);
  StatusOr<proto::Result> result =
      context->backend->Execute(std::move(command));
  if (kept == 0) return result;
  // An unknown outcome may still be applied, keeping the file: count it as
  // kept (a Release of a file that is not this node's orphan does nothing).
  bool orphaned = !result.ok() || result->orphaned() == kept;
  if (context->open_files.Removed(kept, orphaned)) Release(context, kept);
  return result;
}

void Closed(Context* context, uint64_t ino) {
  if (context->open_files.Closed(ino)) Release(context, ino);
}

void ReplyStatus(fuse_req_t req, const Status& status) {
  int error = ErrnoFromStatus(status);
  // EIO alone tells a user nothing: the log says why.
  if (error == EIO) {
    Logf(LogLevel::kWarning, "fuse", "answering EIO to pid %d: %s",
         static_cast<int>(fuse_req_ctx(req)->pid), status.ToString().c_str());
  }
  fuse_reply_err(req, error);
}

bool ReplyIfFailed(fuse_req_t req, const StatusOr<proto::Result>& result) {
  if (result.ok() && result->error() == 0) return false;
  ReplyErr(req, result);
  return true;
}

fuse_entry_param EntryParam(const proto::Attr& attr) {
  fuse_entry_param e = {};
  e.ino = attr.ino();
  // Inode numbers are never reused, so one generation serves them all.
  e.generation = 1;
  AttrToStat(attr, &e.attr);
  return e;
}

void ReplyEntry(fuse_req_t req, const StatusOr<proto::Result>& result) {
  if (ReplyIfFailed(req, result)) return;
  fuse_entry_param e = EntryParam(result->attr());
  fuse_reply_entry(req, &e);
}

void ReplyLookup(fuse_req_t req, uint64_t ticket,
                 const StatusOr<proto::Result>& result) {
  Context* ctx = ContextOf(req);
  bool names = ctx->cache_entries.load();
  if (names && result.ok() && result->error() == ENOENT) {
    fuse_entry_param missing = {};  // ino 0: a negative entry.
    missing.entry_timeout = ctx->backend->CacheSeconds(ticket, 0);
    if (missing.entry_timeout > 0) {
      fuse_reply_entry(req, &missing);
      return;
    }
  }
  if (ReplyIfFailed(req, result)) return;
  fuse_entry_param e = EntryParam(result->attr());
  e.attr_timeout = ctx->backend->CacheSeconds(ticket, e.ino);
  if (names) e.entry_timeout = e.attr_timeout;
  fuse_reply_entry(req, &e);
}

namespace {

void ReplyStat(fuse_req_t req, const proto::Attr& attr, double timeout) {
  struct stat st;
  AttrToStat(attr, &st);
  fuse_reply_attr(req, &st, timeout);
}

}  // namespace

void ReplyGetAttr(fuse_req_t req, uint64_t ticket,
                  const StatusOr<proto::Result>& result) {
  if (ReplyIfFailed(req, result)) return;
  ReplyStat(
      req, result->attr(),
      ContextOf(req)->backend->CacheSeconds(ticket, result->attr().ino()));
}

void ReplyAttr(fuse_req_t req, const StatusOr<proto::Result>& result) {
  if (ReplyIfFailed(req, result)) return;
  ReplyStat(req, result->attr(), 0);
}

void ReplyErr(fuse_req_t req, const StatusOr<proto::Result>& result) {
  if (result.ok()) {
    fuse_reply_err(req, result->error());
  } else {
    ReplyStatus(req, result.status());
  }
}

}  // namespace paxosfs::fuse
