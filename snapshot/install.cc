// InstallSnapshot: verify a received snapshot file, then rename it over the
// store. The crash argument is in snapshot/README.md ("Installing").
#include <sqlite3.h>
#include <stdio.h>

#include <string>

#include "snapshot/files.h"
#include "snapshot/page_checksums.h"
#include "snapshot/store.h"
#include "snapshot/stream.h"

namespace paxosfs::snapshot {
namespace {

Status Hook(const InstallOptions& options, InstallStep step) {
  return options.TEST_crash_hook ? options.TEST_crash_hook(step) : Status::Ok();
}

Status RemoveSidecars(const std::string& db_path) {
  PAXOSFS_RETURN_IF_ERROR(RemoveIfExists(db_path + "-wal"));
  return RemoveIfExists(db_path + "-shm");
}

Status VerifyFile(const std::string& file, const SnapshotInfo& expected,
                  const InstallOptions& options) {
  StatusOr<FileSum> sum = ChecksumFile(file);
  if (!sum.ok()) return sum.status();
  if (sum->bytes != expected.total_bytes ||
      sum->checksum != expected.file_checksum) {
    return Status::Corruption(
        "snapshot file " + file + " holds " + std::to_string(sum->bytes) +
        " bytes with checksum " + std::to_string(sum->checksum) +
        ", the sender's snapshot " + std::to_string(expected.total_bytes) +
        " bytes with checksum " + std::to_string(expected.file_checksum) +
        "; it was damaged on disk or in transit: fetch it again");
  }
  // Leftovers of an earlier check that crashed hold no committed frames
  // (the check never writes), but SQLite would read them.
  PAXOSFS_RETURN_IF_ERROR(RemoveSidecars(file));
  StoreOptions store_options;
  store_options.check_on_open = true;  // PRAGMA quick_check.
  store_options.chunk_size = options.chunk_size;
  StatusOr<std::unique_ptr<Store>> store = Store::Open(file, store_options);
  if (!store.ok()) {
    return store.status().WithContext("received snapshot " + file +
                                      " failed its checks");
  }
  uint64_t applied = (*store)->meta().applied_index;
  store->reset();  // The last connection's close removes the empty WAL.
  PAXOSFS_RETURN_IF_ERROR(RemoveSidecars(file));
  if (applied != expected.applied_index) {
    return Status::Corruption(
        "snapshot file " + file + " is at applied index " +
        std::to_string(applied) + ", the sender announced " +
        std::to_string(expected.applied_index) + "; fetch it again");
  }
  return SyncPath(file);
}

// Copies the old store's WAL into its database file and removes it: a WAL
// left beside the store path would be replayed onto the new file. After
// this the old file alone is a complete, consistent store.
Status FlushOldStore(const std::string& store_path) {
  if (!FileExists(store_path)) return RemoveSidecars(store_path);
  if (FileExists(store_path + "-wal")) {
    UsePageChecksums();
    sqlite3* db = nullptr;
    int rc =
        sqlite3_open_v2(store_path.c_str(), &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc == SQLITE_OK) {
      sqlite3_busy_timeout(db, 5000);
      rc = sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr,
                        nullptr);
    }
    std::string error = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    if (rc != SQLITE_OK) {
      return Status::IOError(
          "cannot flush the old store's WAL into " + store_path + " (" + error +
          "): stop anything using it, or move the store and its -wal and "
          "-shm files aside, then retry");
    }
    PAXOSFS_RETURN_IF_ERROR(SyncPath(store_path));
  }
  PAXOSFS_RETURN_IF_ERROR(RemoveSidecars(store_path));
  return SyncPath(DirName(store_path));
}

}  // namespace

StatusOr<uint64_t> InstallSnapshot(const std::string& file,
                                   const std::string& store_path,
                                   const SnapshotInfo& expected,
                                   const InstallOptions& options) {
  PAXOSFS_CHECK(DirName(file) == DirName(store_path));
  PAXOSFS_RETURN_IF_ERROR(VerifyFile(file, expected, options));
  PAXOSFS_RETURN_IF_ERROR(Hook(options, InstallStep::kVerified));
  PAXOSFS_RETURN_IF_ERROR(FlushOldStore(store_path));
  PAXOSFS_RETURN_IF_ERROR(Hook(options, InstallStep::kOldStoreFlushed));
  if (::rename(file.c_str(), store_path.c_str()) != 0) {
    return ErrnoStatus("rename to " + store_path, file);
  }
  PAXOSFS_RETURN_IF_ERROR(Hook(options, InstallStep::kRenamed));
  PAXOSFS_RETURN_IF_ERROR(SyncPath(DirName(store_path)));
  return expected.applied_index;
}

}  // namespace paxosfs::snapshot
