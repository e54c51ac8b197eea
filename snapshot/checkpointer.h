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

class Checkpointer {
 public:
  // Opens its own connection to the store at `path` (WAL mode, already
  // created by the writer) and starts the thread. `sync_every_ms` 0: no
  // background fsync (the writer's durable commits are the only ones).
  static StatusOr<std::unique_ptr<Checkpointer>> Start(const std::string& path,
                                                       int wal_pages_trigger,
                                                       int sync_every_ms);
  ~Checkpointer();  // Stops the thread (after a checkpoint or sync running).
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // The WAL holds `pages` pages after a commit: wakes the thread once they
  // reach the trigger. Never blocks on the checkpoint.
  void WalGrew(int pages);

  // The writer committed (without fsync) the state at `applied_index`.
  void Committed(uint64_t applied_index);
  // Every commit reported through Committed up to this index is durable.
  uint64_t synced_index() const;
  // Set once a background fsync failed; the writer must stop.
  Status error() const;

  // Checkpoints completed so far (tests).
  uint64_t checkpoints() const;

 private:
  Checkpointer(sqlite3* db, std::string path, int wal_pages_trigger,
               int sync_every_ms);
  void Run();
  void Checkpoint();
  Status SyncWal();

  sqlite3* const db_;
  const std::string path_;
  const int trigger_;
  const std::chrono::milliseconds sync_every_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_ = false;       // Guarded by mu_.
  bool stopping_ = false;     // Guarded by mu_.
  bool copy_failed_ = false;  // Guarded by mu_.
  uint64_t done_ = 0;         // Guarded by mu_.
  uint64_t committed_ = 0;    // Guarded by mu_.
  uint64_t synced_ = 0;       // Guarded by mu_.
  Status sync_error_;         // Guarded by mu_.
  std::thread thread_;
};

}  // namespace paxosfs::snapshot
