// An in-memory Env that simulates a disk and its failures, for tests (after
// leveldb db/fault_injection_test.cc, but without a real disk underneath, so
// a test can crash the "machine" at every step in milliseconds).
//
// Model (the contract of log/env.h): each file has its bytes and how many of
// them are synced; each directory has its live entries and the entries that
// a SyncDir made durable. SimulateCrash() keeps only what is durable: every
// directory goes back to its durable entries (unsynced creations vanish,
// unsynced removals come back) and every file back to its synced bytes, or
// to its synced bytes plus a prefix of the unsynced ones (a torn write).
//
// Faults, each armed by a test and disarmed by ClearFaults():
//   - FailNthAppend(n, status): the n-th Append from now fails with status
//     (NoSpace models ENOSPC) and writes nothing.
//   - FailSyncs(true): every Sync and SyncDir fails with IOError; the unsynced
//     bytes stay readable (the page cache) but are not durable (fsyncgate).
//   - CrashAfterOps(n): after n more mutating operations the machine "dies":
//     every later call fails with IOError until SimulateCrash().
//   - FlipBit(name, offset, bit): damages a byte, synced or not.
//
// WriteZerosAhead(n) models PosixEnv's zeros: every Sync leaves a file at
// least n bytes of zeros past its end (sector-aligned, durable at once),
// Seal cuts them, appends overwrite them, and a torn write over them keeps
// whole sectors (kDiskSectorBytes) only (the rest reads as zeros).
//
// Thread safety: thread-safe; files may be used from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "log/env.h"

namespace paxosfs::log {

class FaultInjectionEnv final : public Env {
 public:
  FaultInjectionEnv();
  ~FaultInjectionEnv() override;

  StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& name) override;
  StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& name) override;
  StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& name) override;
  StatusOr<std::vector<std::string>> GetChildren(
      const std::string& dir) override;
  StatusOr<uint64_t> GetFileSize(const std::string& name) override;
  Status RemoveFile(const std::string& name) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status TruncateFile(const std::string& name, uint64_t size) override;
  Status CreateDir(const std::string& dir) override;
  Status SyncDir(const std::string& dir) override;
  // Locks live in memory, and a crash releases them (as process death does).
  StatusOr<std::unique_ptr<FileLock>> LockFile(
      const std::string& name) override;

  // Faults. See the file comment.
  void FailNthAppend(int n, Status status);
  void FailSyncs(bool fail);
  void CrashAfterOps(int64_t n);
  void ClearFaults();
  // REQUIRES: `name` exists and offset < its size; bit < 8.
  void FlipBit(const std::string& name, uint64_t offset, int bit);
  // A mode, not a fault: kept across crashes and ClearFaults. 0: off.
  void WriteZerosAhead(uint64_t bytes);

  // Loses everything not durable and clears every fault. If `torn_file` is
  // set, that file keeps `torn_keep_bytes` of its unsynced bytes (at most
  // all of them). Files opened before the crash must not be used after it.
  void SimulateCrash(const std::string& torn_file = "",
                     uint64_t torn_keep_bytes = 0);

  // Mutating operations (create, append, sync, remove, rename, truncate,
  // mkdir, syncdir) done so far; a test runs a workload once to count them,
  // then crashes after each count in turn.
  int64_t mutating_ops() const;
  // Bytes of `name` not yet synced. REQUIRES: `name` exists.
  uint64_t UnsyncedBytes(const std::string& name) const;

 private:
  struct Inode;
  class File;
  class Lock;
  friend class File;
  friend class Lock;

  // REQUIRES: mu_ held (for all the helpers below).
  bool Dead() const;
  // Counts one mutating operation; fails if the machine is dead.
  Status BeginOp(std::string_view what) const;
  Status AppendTo(const std::shared_ptr<Inode>& inode, std::string_view data);
  Status SyncInode(const std::shared_ptr<Inode>& inode);
  Status SealInode(const std::shared_ptr<Inode>& inode);
  StatusOr<std::shared_ptr<Inode>> Find(const std::string& name) const;

  mutable std::mutex mu_;
  // Live and durable directory entries, by full path.
  std::map<std::string, std::shared_ptr<Inode>> live_;
  std::map<std::string, std::shared_ptr<Inode>> durable_;
  // Directories are durable once created: the log creates its directory
  // once, before anything that needs to survive a crash.
  std::set<std::string> dirs_;
  // Held locks, by name, with the generation of the holder: a crash drops
  // them all, and a lock object from before a crash must not release the
  // lock of a holder from after it.
  std::map<std::string, uint64_t> locked_;
  uint64_t lock_generation_ = 0;
  mutable int64_t ops_ = 0;
  int appends_until_failure_ = 0;  // 0: no append failure armed.
  Status append_failure_;
  bool fail_syncs_ = false;
  std::optional<int64_t> crash_at_op_;
  uint64_t zeros_ahead_ = 0;
};

}  // namespace paxosfs::log
