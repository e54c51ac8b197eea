// CreateSnapshot: a page copy of the store (sqlite3_backup) inside one read
// transaction. Why this method is in snapshot/README.md ("Creating").
#include <sqlite3.h>

#include <string>

#include "snapshot/files.h"
#include "snapshot/page_checksums.h"
#include "snapshot/stream.h"

namespace paxosfs::snapshot {
namespace {

// Owns one raw connection; the snapshot code needs the backup API, which
// Store (one typed connection) does not expose.
class Connection {
 public:
  ~Connection() {
    if (db_ != nullptr) sqlite3_close(db_);
  }
  Status Open(const std::string& path, int flags) {
    path_ = path;
    UsePageChecksums();
    int rc = sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX,
                             nullptr);
    if (rc != SQLITE_OK) return Error(rc, "open");
    sqlite3_extended_result_codes(db_, 1);
    // A reader may wait briefly while the writer restarts the WAL.
    sqlite3_busy_timeout(db_, 5000);
    return Status::Ok();
  }
  Status Exec(const char* sql) {
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    return rc == SQLITE_OK ? Status::Ok() : Error(rc, sql);
  }
  // The meta row's applied index; inside a transaction this also pins the
  // transaction's view of the file.
  StatusOr<uint64_t> AppliedIndex() {
    return Integer("SELECT applied_index FROM meta WHERE id = 1", "meta row");
  }
  // The first column of `sql`'s first row.
  StatusOr<uint64_t> Integer(const char* sql, const char* what) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr);
    if (rc != SQLITE_OK) return Error(rc, std::string("read ") + what);
    rc = sqlite3_step(stmt);
    uint64_t value = static_cast<uint64_t>(sqlite3_column_int64(stmt, 0));
    sqlite3_finalize(stmt);
    if (rc == SQLITE_DONE) {
      return Status::Corruption("store " + path_ + " has no " + what);
    }
    if (rc != SQLITE_ROW) return Error(rc, std::string("read ") + what);
    return value;
  }
  Status Error(int rc, const std::string& what) {
    std::string message = what + " on " + path_ + ": " + sqlite3_errstr(rc);
    if (rc == SQLITE_IOERR_DATA) {
      // The fault names the damaged file: the source store, not this one.
      return Status::Corruption(what + ": " + TakePageChecksumFault() +
                                "; stop the node that owns it and rebuild "
                                "it from a peer (paxosfs rebuild)");
    }
    if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB) {
      return Status::Corruption(message);
    }
    if ((rc & 0xff) == SQLITE_FULL) return Status::NoSpace(message);
    return Status::IOError(message);
  }
  sqlite3* db() { return db_; }

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
};

// Gives the empty copy its source's page layout on disk before the backup
// writes a page: the backup spills pages to the file before its last step
// writes page 1, and the checksumming VFS learns only from a page 1 it has
// seen whether the file's pages carry checksums (page_checksums.h).
Status GiveCopyTheSourceLayout(Connection& src, Connection& dst,
                               const std::string& store_path) {
  StatusOr<bool> checked = HasPageChecksums(store_path);
  if (!checked.ok()) return checked.status();
  StatusOr<uint64_t> page_size = src.Integer("PRAGMA page_size", "page size");
  if (!page_size.ok()) return page_size.status();
  std::string set_page_size = "PRAGMA page_size=" + std::to_string(*page_size);
  PAXOSFS_RETURN_IF_ERROR(dst.Exec(set_page_size.c_str()));
  if (*checked) PAXOSFS_RETURN_IF_ERROR(ReservePageChecksums(dst.db()));
  return dst.Exec("CREATE TABLE layout(x); DROP TABLE layout");
}

// Copies every page of `src`'s current read transaction into `dst`.
Status CopyPages(Connection& src, Connection& dst,
                 const std::function<bool()>& cancelled, int step_pages) {
  sqlite3_backup* backup =
      sqlite3_backup_init(dst.db(), "main", src.db(), "main");
  if (backup == nullptr) {
    return dst.Error(sqlite3_errcode(dst.db()), "start backup");
  }
  int rc = SQLITE_OK;
  while (rc == SQLITE_OK) {
    if (cancelled && cancelled()) {
      sqlite3_backup_finish(backup);
      return Status::Aborted("snapshot creation cancelled");
    }
    rc = sqlite3_backup_step(backup, step_pages);
  }
  int finish_rc = sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) return dst.Error(rc, "copy pages");
  if (finish_rc != SQLITE_OK) return dst.Error(finish_rc, "finish backup");
  return Status::Ok();
}

StatusOr<uint64_t> CopyInReadTransaction(const std::string& store_path,
                                         const std::string& out_path,
                                         const std::function<bool()>& cancelled,
                                         int step_pages) {
  Connection src;
  PAXOSFS_RETURN_IF_ERROR(src.Open(store_path, SQLITE_OPEN_READONLY));
  // A small page cache on both sides keeps memory flat for any store size;
  // the copy is sequential, so a cache would not be reused anyway.
  PAXOSFS_RETURN_IF_ERROR(src.Exec("PRAGMA cache_size=-2048"));
  // The read transaction starts at the first read: from then on every
  // backup step sees this one committed state, whatever the writer does.
  PAXOSFS_RETURN_IF_ERROR(src.Exec("BEGIN"));
  StatusOr<uint64_t> index = src.AppliedIndex();
  if (!index.ok()) return index.status();

  Connection dst;
  PAXOSFS_RETURN_IF_ERROR(
      dst.Open(out_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE));
  // The copy is private until complete and is discarded on any failure, so
  // it needs neither a rollback journal nor fsyncs.
  PAXOSFS_RETURN_IF_ERROR(dst.Exec("PRAGMA journal_mode=OFF"));
  PAXOSFS_RETURN_IF_ERROR(dst.Exec("PRAGMA synchronous=OFF"));
  PAXOSFS_RETURN_IF_ERROR(dst.Exec("PRAGMA cache_size=-2048"));
  PAXOSFS_RETURN_IF_ERROR(GiveCopyTheSourceLayout(src, dst, store_path));
  PAXOSFS_RETURN_IF_ERROR(CopyPages(src, dst, cancelled, step_pages));
  PAXOSFS_RETURN_IF_ERROR(src.Exec("COMMIT"));

  StatusOr<uint64_t> copied = dst.AppliedIndex();
  if (!copied.ok()) return copied.status();
  PAXOSFS_CHECK_MSG(*copied == *index,
                    "a backup inside one read transaction copied another "
                    "state than the transaction's");
  return *index;
}

}  // namespace

StatusOr<SnapshotInfo> CreateSnapshot(const std::string& store_path,
                                      const std::string& out_path,
                                      const std::function<bool()>& cancelled,
                                      int step_pages) {
  PAXOSFS_CHECK(step_pages > 0);
  if (FileExists(out_path)) {
    return Status::AlreadyExists("snapshot file " + out_path +
                                 " already exists");
  }
  if (!FileExists(store_path)) {
    return Status::NotFound("no store at " + store_path);
  }
  StatusOr<uint64_t> index =
      CopyInReadTransaction(store_path, out_path, cancelled, step_pages);
  StatusOr<FileSum> sum =
      index.ok() ? ChecksumFile(out_path) : StatusOr<FileSum>(index.status());
  if (!sum.ok()) {
    RemoveIfExists(out_path).ok();
    return sum.status().WithContext("snapshot of " + store_path);
  }
  return SnapshotInfo{*index, sum->bytes, sum->checksum};
}

}  // namespace paxosfs::snapshot
