// Internal to fuse/: the state every handler shares, and the helpers that
// turn results into replies. Handlers are the only code that calls
// fuse_reply_*, and each replies exactly once.
#pragma once

// 3.12: fuse_session_loop_mt takes the opaque fuse_loop_config of
// fuse_loop_cfg_create (older versions read it as the v1 struct).
#define FUSE_USE_VERSION 312
#include <fuse3/fuse_lowlevel.h>
#include <sys/stat.h>

#include <atomic>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "fuse/backend.h"
#include "fuse/open_files.h"
#include "fuse/page_cache.h"
#include "proto/command.pb.h"

namespace paxosfs::fuse {

// Owned by the Mount; outlives every request.
struct Context {
  Backend* backend = nullptr;
  const Clock* clock = nullptr;
  // This mount's /sys/class/bdi/MAJ:MIN/read_ahead_kb (empty: unknown), and
  // whether RaiseReadahead already ran.
  std::string readahead_path;
  std::atomic<bool> readahead_done{false};
  // Whether lookups may be cached: the kernel can drop every cached name
  // at once without locks (set at INIT; cleared if that ever fails).
  std::atomic<bool> cache_entries{false};
  // Data versions of files at their last open, to keep unchanged files'
  // cached pages across opens.
  OpenVersions opened;
  OpenFiles open_files;
};

Context* ContextOf(fuse_req_t req);

// Raises the kernel's readahead for this mount from 128 KiB to 1 MiB, once.
// Sequential reads then reach the daemon as 1 MiB requests, not 128 KiB
// ones. It must run after the kernel processed the INIT reply (which caps
// readahead at what it proposed), so it runs from a handler. Best effort:
// without root or sysfs the default stays.
void RaiseReadahead(fuse_req_t req);

// The single mapping from Status to errno (see fuse/README.md).
int ErrnoFromStatus(const Status& status);

void AttrToStat(const proto::Attr& attr, struct stat* st);

// A command stamped with the caller's identity and the proposer's time.
proto::Command NewCommand(fuse_req_t req);

// Runs `command` through the backend: the applied result (whose `error`
// may be non-zero), or why its outcome is unknown.
StatusOr<proto::Result> Execute(fuse_req_t req, proto::Command command);

// This thread's read view, after a read barrier. Null after replying with
// an error.
fsm::Reader* BarrierReader(fuse_req_t req);
// This thread's read view without a barrier: this node's applied state,
// which may trail writes acknowledged elsewhere. Null after replying with
// an error.
fsm::Reader* LocalReader(fuse_req_t req);

// Execute for a command that may remove the name `name` in `parent`:
// if that name's file is open here, the command asks apply to keep it
// (fuse/open_files.h), and a file kept and closed meanwhile is released.
StatusOr<proto::Result> ExecuteRemoving(fuse_req_t req, uint64_t parent,
                                        const std::string& name,
                                        proto::Command command);
// A handle of `ino` was released (or its open never reached the caller).
// Takes the context, not a request: after a failed reply the request is
// gone.
void Closed(Context* context, uint64_t ino);

// Replies with the errno for `status`, logging why when that is EIO.
void ReplyStatus(fuse_req_t req, const Status& status);

// If `result` failed (store error or a non-zero errno), replies with its
// errno and returns true; otherwise replies nothing and returns false.
bool ReplyIfFailed(fuse_req_t req, const StatusOr<proto::Result>& result);

// The entry the kernel caches for `attr` (no caching: timeouts are 0).
fuse_entry_param EntryParam(const proto::Attr& attr);

// Replies to a lookup or getattr whose state was read after `ticket` was
// taken (Backend::CacheTicket), with the timeouts the backend allows; a
// missing name is cached too when it allows.
void ReplyLookup(fuse_req_t req, uint64_t ticket,
                 const StatusOr<proto::Result>& result);
void ReplyGetAttr(fuse_req_t req, uint64_t ticket,
                  const StatusOr<proto::Result>& result);

// Reply helpers: each replies exactly once.
void ReplyEntry(fuse_req_t req, const StatusOr<proto::Result>& result);
void ReplyAttr(fuse_req_t req, const StatusOr<proto::Result>& result);
void ReplyErr(fuse_req_t req, const StatusOr<proto::Result>& result);

// Operation tables, split by what they touch.
void AddNamespaceOps(fuse_lowlevel_ops* ops);
void AddDataOps(fuse_lowlevel_ops* ops);

}  // namespace paxosfs::fuse
