// The filesystem state machine: applies Commands (proto/command.proto) to the
// SQLite store deterministically and answers the FUSE layer's reads.
//
// Apply decides every result, errno included, from the command and the store
// alone: no clock, random source or host state is read, so every replica that
// applies the same slots returns the same results and holds the same state
// (compare Digest()). Inode numbers are allocated from a counter in the store
// and never reused. Invariants and the errno table are in fsm/README.md.
//
// Thread safety: Apply, Checkpoint, AppliedIndex, DurableIndex and Digest are
// called from one applier thread. NewReader may be called from any thread;
// each Reader is then used by one thread at a time (a FUSE worker keeps one
// per thread, or a pool hands them out). A Reader sees the state as of the
// last batch committed when its call began: each Apply or ApplyBatch commits
// its slots before returning, so a read issued after it returned observes
// them, and never half a slot.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "proto/command.pb.h"
#include "replica/state_machine.h"

namespace paxosfs::snapshot {
class Store;
}

namespace paxosfs::fsm {

class Applier;

// Whether the store may hold a security.capability xattr on any inode.
// Found by one query at Filesystem::Open, set by the applier before it
// writes one, never cleared while the Filesystem is open (a store is only
// replaced by a snapshot between runs, and the next Open asks again). While
// false, the write path skips the delete and the kernel's probe skips the
// store. Shared with the Readers, which may outlive the Filesystem.
using CapabilityFlag = std::shared_ptr<std::atomic<bool>>;

struct Options {
  // Writes and truncations past this size fail with EFBIG.
  uint64_t max_file_size = uint64_t{1} << 40;
  // Reported by statfs; not enforced at apply time (see README).
  uint64_t capacity_bytes = uint64_t{1} << 40;
  uint64_t capacity_inodes = uint64_t{1} << 32;
  // Commits are made durable in the background this often, off the applier
  // thread (snapshot::StoreOptions::wal_sync_every_ms); 0: only by the
  // checkpoints below. Rarer syncs flush more at once but less in all (the
  // page cache absorbs rewrites of hot pages): single-writer 4 KiB p99 was
  // 16-22 ms syncing every 100 ms, 6-8 ms every 1-5 s, 15-45 ms with the
  // applier's own fsync every second (bench/RESULTS.md).
  int wal_sync_every_ms = 2000;
  // A checkpoint (a commit that fsyncs on the applier thread) comes when
  // the durable index trails by this many slots or has not moved for this
  // long while slots wait: the fallback for a background sync that falls
  // behind (or is off).
  uint64_t checkpoint_every_slots = 100000;
  int64_t checkpoint_every_ms = 10000;
  // Decides when to checkpoint only; never read by apply itself.
  const Clock* clock = &SystemClock::Instance();
  // Run SQLite's quick_check when opening (cost grows with the store).
  bool check_on_open = true;
  // Told when the writer's or any reader's store finds it is corrupt
  // (snapshot::StoreOptions::on_corruption), on that thread.
  std::function<void(const Status&)> on_corruption;
};

// Read-only view for one thread. Every method returns a Result whose
// `error` is the errno to reply with; a non-OK Status means the store
// failed (I/O error, corruption) and the FUSE layer should answer EIO.
class Reader {
 public:
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  StatusOr<proto::Result> Lookup(uint64_t parent, const std::string& name);
  StatusOr<proto::Result> GetAttr(uint64_t ino);
  // Entries after `offset` (0: from the start; "." and ".." come first),
  // at most `max_entries`. Each entry's offset continues after it, and stays
  // valid across concurrent creates, unlinks and renames in the directory.
  StatusOr<proto::Result> ReadDir(uint64_t ino, uint64_t offset,
                                  uint32_t max_entries);
  // Up to `size` bytes at `offset`; holes read as zeros; short at EOF.
  StatusOr<proto::Result> Read(uint64_t ino, uint64_t offset, uint64_t size);
  StatusOr<proto::Result> ReadLink(uint64_t ino);
  // security.capability answers ENODATA without reading the store while no
  // inode has one (see CapabilityFlag), even for an inode that no longer
  // exists (ENOENT otherwise): the kernel asks before every write.
  StatusOr<proto::Result> GetXattr(uint64_t ino, const std::string& name);
  StatusOr<proto::Result> ListXattr(uint64_t ino);
  StatusOr<proto::Result> StatFs();
  // Whether removed files' chunks wait to be freed by Collect commands.
  StatusOr<bool> HasGarbage();
  // The applied index and digest of the last committed state.
  StatusOr<uint64_t> AppliedIndex();
  StatusOr<uint64_t> Digest();

 private:
  friend class Filesystem;
  Reader(std::unique_ptr<snapshot::Store> store, const Options& options,
         CapabilityFlag may_hold_capability);
  StatusOr<proto::Result> ReadInSnapshot(uint64_t ino, uint64_t offset,
                                         uint64_t size);

  std::unique_ptr<snapshot::Store> store_;
  Options options_;
  const CapabilityFlag may_hold_capability_;
};

class Filesystem final : public replica::StateMachine {
 public:
  // Opens the store at `path`, creating it (root directory only, index 0)
  // if missing. Fails with kCorruption, saying what to do, if the store is
  // damaged.
  static StatusOr<std::unique_ptr<Filesystem>> Open(const std::string& path,
                                                    const Options& options);
  ~Filesystem() override;

  // Each command is an encoded proto::Command; each result an encoded
  // proto::Result. A command that does not parse gets EINVAL. A command
  // whose request id (node, session, sequence) equals its session's last
  // applied one returns the stored result and changes nothing; one below it
  // gets EALREADY (sessions have one request outstanding at a time).
  StatusOr<std::vector<std::string>> Apply(
      uint64_t slot, const std::vector<std::string>& commands) override;
  // Applies the slots in one transaction: readers see the whole batch or
  // none of it, and a store error applies none of it.
  BatchResult ApplyBatch(
      uint64_t first_slot,
      const std::vector<const std::vector<std::string>*>& slots) override;
  uint64_t AppliedIndex() const override;
  uint64_t DurableIndex() const override;
  Status Checkpoint() override;
  // Returns free pages of the store to the file system (Store::Tidy).
  StatusOr<bool> Tidy() override;

  StatusOr<uint64_t> Digest();
  StatusOr<std::unique_ptr<Reader>> NewReader() const;

  // Drops the connection as a crash would, losing what was not committed.
  void TEST_Crash();
  // The CapabilityFlag's current value.
  bool TEST_MayHoldCapability() const { return may_hold_capability_->load(); }

 private:
  Filesystem(std::string path, const Options& options,
             std::unique_ptr<snapshot::Store> store, bool may_hold_capability);
  StatusOr<std::string> ApplyOne(const std::string& encoded);
  // An empty durable commit: fsyncs everything committed so far.
  Status SyncNow();

  std::string path_;
  Options options_;
  std::unique_ptr<snapshot::Store> store_;
  const CapabilityFlag may_hold_capability_;
  std::unique_ptr<Applier> applier_;
  uint64_t durable_index_ = 0;  // Of the last checkpoint.
  // When DurableIndex() was last seen to move, and its value then.
  uint64_t durable_seen_ = 0;
  int64_t durable_moved_ns_ = 0;
};

}  // namespace paxosfs::fsm
