#include "snapshot/checkpointer.h"

#include <fcntl.h>
#include <linux/ioprio.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/logging.h"
#include "snapshot/page_checksums.h"

namespace paxosfs::snapshot {
namespace {

// This connection's handle of the WAL file (the same file the writer
// appends to), or null if the connection has not opened it.
sqlite3_file* WalFile(sqlite3* db) {
  sqlite3_file* file = nullptr;
  int rc = sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER,
                                static_cast<void*>(&file));
  if (rc != SQLITE_OK || file == nullptr || file->pMethods == nullptr) {
    return nullptr;
  }
  return file;
}

// This thread's disk writes (the WAL's writeback and fsync, the copy back)
// are background work, while every write of the file system waits for the
// logs' fdatasyncs on the same disk: the idle I/O class lets the disk's
// scheduler (mq-deadline, bfq) serve those first, with aging so this thread
// still progresses. A scheduler without classes ignores it; nothing depends
// on it, so a refusal is ignored too.
void YieldDiskToTheLogs() {
  (void)syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0,
                IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0));
}

}  // namespace

StatusOr<std::unique_ptr<Checkpointer>> Checkpointer::Start(
    const std::string& path, const CheckpointerOptions& options) {
  UsePageChecksums();
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
  // A connection learns that the file is in WAL mode (and opens the WAL)
  // only when it first reads it; until then a checkpoint silently does
  // nothing and there is no WAL handle to sync.
  rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK && options.sync_every_ms > 0 && WalFile(db) == nullptr) {
    sqlite3_close(db);
    return Status::IOError("the store at " + path +
                           " opened no write-ahead log to sync");
  }
  if (rc != SQLITE_OK) {
    std::string what = sqlite3_errmsg(db);
    sqlite3_close(db);
    return Status::IOError("cannot checkpoint " + path + ": " + what);
  }
  int wal_fd = -1;
  if (options.writeback_pages > 0) {
    // A descriptor of our own: SQLite does not hand out its file's. Read
    // only is enough to start writeback of the file's pages.
    const char* wal = sqlite3_filename_wal(sqlite3_db_filename(db, "main"));
    wal_fd = open(wal, O_RDONLY | O_CLOEXEC);
    if (wal_fd < 0) {
      std::string what = std::string(wal) + ": " + strerror(errno);
      sqlite3_close(db);
      return Status::IOError("cannot open the write-ahead log " + what);
    }
  }
  return std::unique_ptr<Checkpointer>(
      new Checkpointer(db, path, wal_fd, options));
}

Checkpointer::Checkpointer(sqlite3* db, std::string path, int wal_fd,
                           const CheckpointerOptions& options)
    : db_(db),
      path_(std::move(path)),
      wal_fd_(wal_fd),
      trigger_(options.copy_pages),
      writeback_pages_(options.writeback_pages),
      sync_every_(options.sync_every_ms) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "checkpoint");
    YieldDiskToTheLogs();
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
  if (wal_fd_ >= 0) close(wal_fd_);
  sqlite3_close(db_);
}

void Checkpointer::WalGrew(int pages) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (pages >= trigger_ && !copy_failed_) wake = wanted_ = true;
    // After a checkpoint the writer starts the WAL over from its beginning.
    if (pages < written_back_) written_back_ = 0;
    if (wal_fd_ >= 0 && pages - written_back_ >= writeback_pages_) {
      written_back_ = pages;
      wake = writeback_ = true;
    }
  }
  if (wake) cv_.notify_one();
}

void Checkpointer::Committed(uint64_t applied_index) {
  if (sync_every_.count() == 0) return;
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Only a thread with nothing to sync sleeps without a deadline.
    wake = committed_ == synced_;
    committed_ = std::max(committed_, applied_index);
  }
  if (wake) cv_.notify_one();
}

uint64_t Checkpointer::synced_index() const {
  std::lock_guard<std::mutex> lock(mu_);
  return synced_;
}

Status Checkpointer::error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sync_error_;
}

uint64_t Checkpointer::checkpoints() const {
  std::lock_guard<std::mutex> lock(mu_);
  return done_;
}

uint64_t Checkpointer::writebacks() const {
  std::lock_guard<std::mutex> lock(mu_);
  return writebacks_;
}

void Checkpointer::Run() {
  auto next_sync = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  auto sync_wanted = [this] {
    return sync_every_.count() > 0 && sync_error_.ok() && committed_ > synced_;
  };
  for (;;) {
    cv_.wait(lock, [&] {
      return stopping_ || wanted_ || writeback_ || sync_wanted();
    });
    if (stopping_) return;
    if (writeback_) {
      writeback_ = false;
      lock.unlock();
      StartWalWriteback();
      lock.lock();
      ++writebacks_;
      continue;
    }
    // Syncs come at most every interval, so each flushes a batch of
    // commits; a checkpoint request goes at once.
    if (!wanted_ && std::chrono::steady_clock::now() < next_sync) {
      cv_.wait_until(lock, next_sync,
                     [this] { return stopping_ || wanted_ || writeback_; });
      continue;
    }
    const bool copy = wanted_;
    wanted_ = false;
    const bool sync = sync_wanted();
    // Every commit reported so far has its frames in the WAL file: the
    // fsync that starts after this read covers them.
    const uint64_t target = committed_;
    lock.unlock();
    if (sync) {
      next_sync = std::chrono::steady_clock::now() + sync_every_;
      Status s = SyncWal();
      lock.lock();
      if (s.ok()) {
        synced_ = std::max(synced_, target);
      } else {
        sync_error_ = s;
      }
      lock.unlock();
    }
    if (copy) Checkpoint();
    lock.lock();
  }
}

Status Checkpointer::SyncWal() {
  sqlite3_file* wal = WalFile(db_);
  int rc = wal == nullptr ? SQLITE_IOERR
                          : wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string what =
      "fsync of the write-ahead log of " + path_ + " failed (" +
      sqlite3_errstr(rc) +
      "); the store on disk is uncertain after a failed write or fsync: check "
      "the disk, then restart the node (it replays the log from its last "
      "checkpoint)";
  Logf(LogLevel::kError, "store", "%s", what.c_str());
  return Status::IOError(what);
}

void Checkpointer::StartWalWriteback() {
  // Errors are left to the fsyncs that follow (SyncWal, the checkpoint's):
  // the kernel reports a failed writeback to every descriptor's next fsync,
  // and durability is decided there.
  (void)sync_file_range(wal_fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
}

void Checkpointer::Checkpoint() {
  int log_frames = 0;
  int rc = sqlite3_wal_checkpoint_v2(db_, "main", SQLITE_CHECKPOINT_PASSIVE,
                                     &log_frames, nullptr);
  std::lock_guard<std::mutex> lock(mu_);
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
    copy_failed_ = true;
    return;
  }
  if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
    Logf(LogLevel::kWarning, "store", "checkpoint of %s failed: %s",
         path_.c_str(), sqlite3_errmsg(db_));
  }
  if (rc == SQLITE_OK && log_frames >= 0) ++done_;
}

}  // namespace paxosfs::snapshot
