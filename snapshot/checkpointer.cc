#include "snapshot/checkpointer.h"

#include <pthread.h>
#include <sqlite3.h>

#include "common/logging.h"

namespace paxosfs::snapshot {

StatusOr<std::unique_ptr<Checkpointer>> Checkpointer::Start(
    const std::string& path, int wal_pages_trigger) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string what = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Status::IOError("cannot open " + path + " to checkpoint: " + what);
  }
  // The writer may hold its lock for a moment while it restarts the WAL.
  sqlite3_busy_timeout(db, 5000);
  // A connection learns that the file is in WAL mode only when it first
  // reads it; until then a checkpoint silently does nothing.
  rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    std::string what = sqlite3_errmsg(db);
    sqlite3_close(db);
    return Status::IOError("cannot checkpoint " + path + ": " + what);
  }
  return std::unique_ptr<Checkpointer>(
      new Checkpointer(db, path, wal_pages_trigger));
}

Checkpointer::Checkpointer(sqlite3* db, std::string path, int wal_pages_trigger)
    : db_(db), path_(std::move(path)), trigger_(wal_pages_trigger) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "checkpoint");
    Run();
  });
}

Checkpointer::~Checkpointer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
  sqlite3_close(db_);
}

void Checkpointer::WalGrew(int pages) {
  if (pages < trigger_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    wanted_ = true;
  }
  cv_.notify_one();
}

uint64_t Checkpointer::checkpoints() const {
  std::lock_guard<std::mutex> lock(mu_);
  return done_;
}

void Checkpointer::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return wanted_ || stopping_; });
    if (stopping_) return;
    wanted_ = false;
    lock.unlock();
    int log_frames = 0;
    int rc = sqlite3_wal_checkpoint_v2(db_, "main", SQLITE_CHECKPOINT_PASSIVE,
                                       &log_frames, nullptr);
    // Not fatal: the WAL keeps every commit either way and the next commit
    // past the trigger asks again; a full disk shows up in the writer too.
    if ((rc & 0xff) == SQLITE_IOERR) {
      // A failed write or fsync of the database file: whether the copied
      // pages reached the disk is unknown, so copy nothing more (the WAL
      // keeps every commit) until a restart re-reads the disk.
      Logf(LogLevel::kError, "store",
           "checkpoint of %s failed: %s; no more checkpoints until the node "
           "is restarted (check the disk)",
           path_.c_str(), sqlite3_errmsg(db_));
      return;
    }
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
      Logf(LogLevel::kWarning, "store", "checkpoint of %s failed: %s",
           path_.c_str(), sqlite3_errmsg(db_));
    }
    lock.lock();
    if (rc == SQLITE_OK && log_frames >= 0) ++done_;
  }
}

}  // namespace paxosfs::snapshot
