// The data directory of a node that `init` or `join` is creating, claimed
// so that a command that fails leaves nothing behind: the directory must be
// new or empty, and everything the command created in it (the directory
// itself and any parents it had to make included) is removed again unless
// the command keeps it.
//
// A directory that already holds a node is refused by the callers before
// they claim one (ReadIdentity), so a claim never touches a node's files.
//
// Thread safety: one owner.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"

namespace paxosfs::cli {

class DirClaim {
 public:
  // Creates `dir` (with its parents) or takes an existing empty directory.
  // Refuses a path that is not a directory, a directory that is not empty
  // (naming what is in it, and recognising the leftovers of an interrupted
  // init or join) and a directory it cannot create; `flag` names the
  // option in errors ("--data").
  static StatusOr<std::unique_ptr<DirClaim>> Make(const std::string& dir,
                                                  const std::string& flag);

  // Removes what this claim created unless Keep() was called.
  ~DirClaim();
  DirClaim(const DirClaim&) = delete;
  DirClaim& operator=(const DirClaim&) = delete;

  // The directory is a node's (or a resumable start of one) from now on.
  void Keep() { keep_ = true; }

 private:
  DirClaim(std::string dir, std::string created_root)
      : dir_(std::move(dir)), created_root_(std::move(created_root)) {}

  std::string dir_;
  // The topmost directory this claim created; empty if `dir_` existed
  // (empty), whose contents are then removed instead.
  std::string created_root_;
  bool keep_ = false;
};

}  // namespace paxosfs::cli
