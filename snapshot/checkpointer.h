// The writer's background thread: makes commits durable and copies the WAL
// back into the database file, on a connection of its own, so the applier
// never waits for either.
//
// Syncing: the writer commits without fsync (synchronous=NORMAL); every
// `sync_every_ms` this thread fsyncs the WAL through its own connection's
// handle of the same file, and every commit reported before that fsync
// started is then durable. A synchronous commit on the applier used to stall
// every writer for the whole flush (70-90 ms once a second at 4 KiB writes,
// the p99 of a write); here the flush overlaps the applier's work and comes
// in smaller pieces. A failed fsync is sticky (error()): the pages it
// covered may be lost while the kernel reports them clean.
//
// Checkpointing: SQLite's automatic checkpoint runs inside the COMMIT that
// crosses its threshold: the applier would copy tens of MiB and fsync twice
// while every proposer waits on it. Here the writer's commit only signals,
// and this thread checkpoints (PASSIVE: it never blocks the writer or the
// readers). Durability does not depend on it: commits are durable in the
// WAL; the checkpoint only keeps the WAL from growing.
//
// Writeback: the WAL takes commits into the page cache only, and the
// checkpoint's fsync of it then wrote its whole 8 MiB at once: for 15-19 ms
// the disk served that burst, and every node's log fdatasync (the write
// path) waited behind it, the p99 of a 4 KiB fsynced write. So each time
// the WAL grows by `writeback_pages`, this thread starts the writeback of
// what it holds (sync_file_range, no wait): the disk gets the WAL in small
// pieces as it is written, and the fsyncs find little left to write. All
// of this thread's disk writes are in the idle I/O class, so the disk's
// scheduler serves the logs' first. Measured on a 3-node demo, 4 KiB
// fsynced writes: p99 15-23 ms before, 6-11 ms after (bench/RESULTS.md).
//
// Thread safety: WalGrew, Committed, synced_index and error may be called
// from any thread; the rest is owned by the thread that created it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"

struct sqlite3;

namespace paxosfs::snapshot {

// Store::StartCheckpointer derives these from StoreOptions (where the
// defaults and their reasons live), in pages of the store.
struct CheckpointerOptions {
  // WAL pages after a commit that start a checkpoint.
  int copy_pages = 0;
  // WAL growth, in pages, that starts a writeback; 0: none.
  int writeback_pages = 0;
  // Background fsync interval; 0: none (the writer's durable commits are
  // the only ones).
  int sync_every_ms = 0;
};

class Checkpointer {
 public:
  // Opens its own connection to the store at `path` (WAL mode, already
  // created by the writer) and starts the thread.
  static StatusOr<std::unique_ptr<Checkpointer>> Start(
      const std::string& path, const CheckpointerOptions& options);
  ~Checkpointer();  // Stops the thread (after a checkpoint or sync running).
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // The WAL holds `pages` pages after a commit: wakes the thread once they
  // reach a checkpoint or another writeback. Never blocks on either.
  void WalGrew(int pages);

  // The writer committed (without fsync) the state at `applied_index`.
  void Committed(uint64_t applied_index);
  // Every commit reported through Committed up to this index is durable.
  uint64_t synced_index() const;
  // Set once a background fsync failed; the writer must stop.
  Status error() const;

  // Checkpoints completed and writebacks started so far (tests).
  uint64_t checkpoints() const;
  uint64_t writebacks() const;

 private:
  Checkpointer(sqlite3* db, std::string path, int wal_fd,
               const CheckpointerOptions& options);
  void Run();
  void Checkpoint();
  Status SyncWal();
  void StartWalWriteback();

  sqlite3* const db_;
  const std::string path_;
  const int wal_fd_;  // -1: no writeback.
  const int trigger_;
  const int writeback_pages_;
  const std::chrono::milliseconds sync_every_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_ = false;       // Guarded by mu_.
  bool writeback_ = false;    // Guarded by mu_.
  int written_back_ = 0;      // Guarded by mu_; WAL pages at the last one.
  bool stopping_ = false;     // Guarded by mu_.
  bool copy_failed_ = false;  // Guarded by mu_.
  uint64_t done_ = 0;         // Guarded by mu_.
  uint64_t writebacks_ = 0;   // Guarded by mu_.
  uint64_t committed_ = 0;    // Guarded by mu_.
  uint64_t synced_ = 0;       // Guarded by mu_.
  Status sync_error_;         // Guarded by mu_.
  std::thread thread_;
};

}  // namespace paxosfs::snapshot
