// The files this node's kernel holds open, by inode, so that removing the
// last name of one keeps it readable and writable through its handles, as
// POSIX asks: the unlink or rename names the inode in Command.keep_open,
// apply keeps it as this node's orphan, and the last close proposes its
// Release. Handles on other nodes are not known to the proposer (NFS
// semantics: their reads fail once the file is gone).
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace paxosfs::fuse {

class OpenFiles {
 public:
  void Opened(uint64_t ino);
  // A handle of `ino` was released; true if the caller must now propose
  // Release(ino) (its last handle of an orphan).
  bool Closed(uint64_t ino);
  // Before proposing a command that may remove the last name of `ino`:
  // true if it is open here, so the command asks to keep it; then Removed
  // must follow.
  bool Removing(uint64_t ino);
  // After such a command: whether apply kept `ino`. True if the caller must
  // now propose Release(ino) (every handle closed meanwhile).
  bool Removed(uint64_t ino, bool orphaned);
  // Whether any file is open here at all (if not, no lookup is needed).
  bool Any();

 private:
  struct File {
    int handles = 0;
    int removing = 0;  // Commands in flight that asked to keep it.
    bool orphan = false;
  };
  // REQUIRES: mu_ held. Forgets `it` once nothing refers to it; returns
  // whether it was an orphan with no handle left.
  bool Settle(std::unordered_map<uint64_t, File>::iterator it);

  std::mutex mu_;
  std::unordered_map<uint64_t, File> files_;  // Guarded by mu_.
};

}  // namespace paxosfs::fuse
