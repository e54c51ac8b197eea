// Internal to fsm/: applies one decoded Command inside the store's open
// transaction. Every check that can fail with an errno runs before the first
// write, so a failed command changes nothing. A non-OK Status is a store
// failure: the caller rolls the whole slot back.
//
// Thread safety: the applier thread only, like the writable Store.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "fsm/filesystem.h"
#include "proto/command.pb.h"
#include "snapshot/store.h"

namespace paxosfs::fsm {

using snapshot::InodeRow;

// A result carrying only `error` (an errno).
inline proto::Result Err(int error) {
  proto::Result r;
  r.set_error(error);
  return r;
}

// Fills a proto Attr from an inode row.
void ToAttr(const InodeRow& row, proto::Attr* attr);
// 0 if `name` is a valid directory entry name, else its errno.
int CheckName(const std::string& name);

class Applier {
 public:
  Applier(snapshot::Store* store, const Options& options,
          CapabilityFlag may_hold_capability)
      : store_(store),
        options_(options),
        may_hold_capability_(std::move(may_hold_capability)) {}

  StatusOr<proto::Result> Apply(const proto::Command& c);

 private:
  using R = StatusOr<proto::Result>;

  R Create(const proto::Command& c);
  R Mkdir(const proto::Command& c);
  R Unlink(const proto::Command& c);
  R Rmdir(const proto::Command& c);
  // What a rename works on, loaded and checked by PlanRename.
  struct RenamePlan {
    InodeRow old_dir;
    InodeRow new_dir;
    InodeRow src;
    InodeRow dst;  // Valid if has_dst.
    bool has_dst = false;
    bool same_dir() const { return old_dir.ino == new_dir.ino; }
    // One row when both names are in one directory, so updates compose.
    InodeRow& target_dir() { return same_dir() ? old_dir : new_dir; }
  };
  R Rename(const proto::Command& c);
  // Loads both directories and names and runs the checks Linux runs before
  // vfs_rename: 0 to go on, else the errno.
  StatusOr<int> PlanRename(const proto::Rename& op, RenamePlan* plan);
  R Exchange(const proto::Command& c, RenamePlan& plan);
  // Stamps mtime and ctime on both directories of a rename and saves them.
  Status TouchDirs(RenamePlan& plan, int64_t time_ns);
  R Link(const proto::Command& c);
  R Symlink(const proto::Command& c);
  R SetAttr(const proto::Command& c);
  R Write(const proto::Command& c);
  R Fallocate(const proto::Command& c);
  R SetXattr(const proto::Command& c);
  R RemoveXattr(const proto::Command& c);

  // Loads `ino` into *row: 0, or ENOENT if it does not exist.
  StatusOr<int> Load(uint64_t ino, InodeRow* row);
  // As Load, and ENOTDIR if it is not a directory.
  StatusOr<int> LoadDir(uint64_t ino, InodeRow* row);
  // Whether directory `dir` is `ancestor` or lies below it.
  StatusOr<bool> IsWithin(uint64_t dir, uint64_t ancestor);
  // A new inode owned by the caller, in `parent` (setgid inheritance).
  InodeRow NewInode(const proto::Command& c, const InodeRow& parent,
                    uint32_t mode);
  // Links `child` into `parent` as `name` with a fresh readdir cookie.
  Status AddEntry(uint64_t parent, const std::string& name,
                  const InodeRow& child);
  // Removes one link to a non-directory. With its last link it is freed,
  // or kept as the proposer's orphan if `c` says the proposer holds it
  // open (Command.keep_open; *r says which).
  Status DropLink(InodeRow& row, const proto::Command& c, proto::Result* r);
  Status FreeInode(const InodeRow& row);
  // Forgets orphan `ino` and frees it.
  Status FreeOrphan(uint64_t ino);
  R Release(const proto::Command& c);
  R ReleaseOrphans(const proto::Command& c);
  // Frees the chunks of `row` now if they are few, else hands them to the
  // store's garbage, which Collect commands free in bounded batches.
  Status ReleaseChunks(const InodeRow& row);
  R Collect();
  Status Truncate(InodeRow& row, uint64_t size);
  R EntryResult(const InodeRow& row);

  snapshot::Store* store_;
  Options options_;
  const CapabilityFlag may_hold_capability_;
};

}  // namespace paxosfs::fsm
