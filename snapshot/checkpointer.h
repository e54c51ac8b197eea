// Copies the writer's WAL back into the database file on a thread of its
// own. SQLite's automatic checkpoint runs inside the COMMIT that crosses
// its threshold: the applier would copy tens of MiB and fsync twice while
// every proposer waits on it. Here the writer's commit only signals, and a
// second connection checkpoints (PASSIVE: it never blocks the writer or the
// readers). Durability does not depend on it: commits are durable in the
// WAL; the checkpoint only keeps the WAL from growing.
//
// Thread safety: WalGrew may be called from any thread; the rest is owned
// by the thread that created the Checkpointer.
#pragma once

#include <condition_variable>
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
  // created by the writer) and starts the thread.
  static StatusOr<std::unique_ptr<Checkpointer>> Start(const std::string& path,
                                                       int wal_pages_trigger);
  ~Checkpointer();  // Stops the thread (after a checkpoint in progress).
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // The WAL holds `pages` pages after a commit: wakes the thread once they
  // reach the trigger. Never blocks on the checkpoint.
  void WalGrew(int pages);

  // Checkpoints completed so far (tests).
  uint64_t checkpoints() const;

 private:
  Checkpointer(sqlite3* db, std::string path, int wal_pages_trigger);
  void Run();

  sqlite3* const db_;
  const std::string path_;
  const int trigger_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_ = false;    // Guarded by mu_.
  bool stopping_ = false;  // Guarded by mu_.
  uint64_t done_ = 0;      // Guarded by mu_.
  std::thread thread_;
};

}  // namespace paxosfs::snapshot
