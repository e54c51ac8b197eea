// Opening, schema, transactions and the checksummed meta row.
#include "snapshot/store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "common/checksum.h"
#include "snapshot/checkpointer.h"
#include "snapshot/page_checksums.h"
#include "snapshot/statement.h"

namespace paxosfs::snapshot {
namespace {

// Bumped when the schema changes incompatibly; Open refuses other values.
// Format 2 added inodes.data and the garbage table, format 3 the orphans
// table; Open upgrades formats 1 and 2.
constexpr uint64_t kFormat = 3;
constexpr uint64_t kRootIno = 1;
constexpr uint32_t kRootMode = 0040755;

constexpr const char* kSchema = R"sql(
CREATE TABLE meta(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  format INTEGER NOT NULL,
  chunk_size INTEGER NOT NULL,
  applied_index INTEGER NOT NULL,
  next_ino INTEGER NOT NULL,
  next_cookie INTEGER NOT NULL,
  checksum INTEGER NOT NULL);
CREATE TABLE inodes(
  ino INTEGER PRIMARY KEY, mode INTEGER NOT NULL, uid INTEGER NOT NULL,
  gid INTEGER NOT NULL, nlink INTEGER NOT NULL, size INTEGER NOT NULL,
  atime INTEGER NOT NULL, mtime INTEGER NOT NULL, ctime INTEGER NOT NULL,
  parent INTEGER NOT NULL, rdev INTEGER NOT NULL, stored INTEGER NOT NULL,
  target BLOB NOT NULL, data INTEGER NOT NULL DEFAULT 0);
CREATE TABLE dentries(
  parent INTEGER NOT NULL, name BLOB NOT NULL, ino INTEGER NOT NULL,
  type INTEGER NOT NULL, cookie INTEGER NOT NULL,
  PRIMARY KEY (parent, name)) WITHOUT ROWID;
CREATE UNIQUE INDEX dentries_by_cookie ON dentries(parent, cookie);
CREATE TABLE chunks(
  ino INTEGER NOT NULL, idx INTEGER NOT NULL, data BLOB NOT NULL,
  PRIMARY KEY (ino, idx));
CREATE TABLE xattrs(
  ino INTEGER NOT NULL, name BLOB NOT NULL, value BLOB NOT NULL,
  PRIMARY KEY (ino, name)) WITHOUT ROWID;
CREATE TABLE garbage(data INTEGER PRIMARY KEY, stored INTEGER NOT NULL);
CREATE TABLE data_keys(id INTEGER PRIMARY KEY CHECK (id = 1), next INTEGER NOT NULL);
CREATE TABLE sessions(
  node INTEGER NOT NULL, session INTEGER NOT NULL,
  sequence INTEGER NOT NULL, result BLOB NOT NULL,
  PRIMARY KEY (node, session)) WITHOUT ROWID;
CREATE TABLE orphans(
  ino INTEGER PRIMARY KEY, node INTEGER NOT NULL, boot INTEGER NOT NULL);
)sql";

// What format 2 added to format 1; both end with the same schema.
constexpr const char* kUpgradeFrom1 = R"sql(
ALTER TABLE inodes ADD COLUMN data INTEGER NOT NULL DEFAULT 0;
CREATE TABLE garbage(data INTEGER PRIMARY KEY, stored INTEGER NOT NULL);
CREATE TABLE data_keys(id INTEGER PRIMARY KEY CHECK (id = 1), next INTEGER NOT NULL);
UPDATE meta SET format = 2 WHERE id = 1;
)sql";

// What format 3 added to format 2.
constexpr const char* kUpgradeFrom2 = R"sql(
CREATE TABLE orphans(
  ino INTEGER PRIMARY KEY, node INTEGER NOT NULL, boot INTEGER NOT NULL);
UPDATE meta SET format = 3 WHERE id = 1;
)sql";

uint64_t MetaChecksum(uint64_t format, uint64_t chunk_size, const Meta& m) {
  Hasher h;
  h.Update("paxosfs-meta");
  h.UpdateU64(format);
  h.UpdateU64(chunk_size);
  h.UpdateU64(m.applied_index);
  h.UpdateU64(m.next_ino);
  h.UpdateU64(m.next_cookie);
  return h.Digest();
}

std::string CorruptAdvice(const std::string& path) {
  return "; the store at " + path +
         " is corrupt and must not be served: stop the node and rebuild it "
         "from a peer's snapshot (paxosfs rebuild moves the damaged files "
         "aside and keeps them)";
}

}  // namespace

Store::Store(sqlite3* db, const std::string& path, const StoreOptions& options)
    : db_(db),
      path_(path),
      options_(options),
      chunk_size_(options.chunk_size) {}

Store::~Store() {
  checkpointer_.reset();
  if (db_ == nullptr) return;
  if (in_txn_) Exec("ROLLBACK").ok();
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

uint64_t Store::TEST_checkpoints() const {
  return checkpointer_ ? checkpointer_->checkpoints() : 0;
}

uint64_t Store::TEST_writebacks() const {
  return checkpointer_ ? checkpointer_->writebacks() : 0;
}

void Store::TEST_Abandon() {
  checkpointer_.reset();
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  cache_.clear();
  // Closing with a write transaction open rolls it back, as a crash would:
  // nothing of it reaches the WAL's committed frames.
  sqlite3_close(db_);
  db_ = nullptr;
  in_txn_ = false;
  failed_ = Status::Aborted("store abandoned (test)");
}

StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path,
                                             const StoreOptions& options,
                                             int64_t root_time_ns) {
  struct stat st;
  bool exists = ::stat(path.c_str(), &st) == 0 && st.st_size > 0;
  if (!exists && options.read_only) {
    return Status::NotFound("no store at " + path);
  }
  int flags = options.read_only ? SQLITE_OPEN_READONLY
                                : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  UsePageChecksums();
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<Store> store(new Store(db, path, options));
  if (rc != SQLITE_OK) return store->Error(rc, "open");
  sqlite3_extended_result_codes(db, 1);
  // The writer never waits on readers in WAL mode; a reader may briefly wait
  // while the writer restarts the WAL.
  sqlite3_busy_timeout(db, 5000);
  if (!options.read_only) {
    // Takes effect only while the file is still empty (a new store).
    std::string page_size =
        "PRAGMA page_size=" + std::to_string(options.page_size);
    PAXOSFS_RETURN_IF_ERROR(store->Exec(page_size.c_str()));
    // Like the page size, fixed when the first page is written: a store
    // created earlier keeps unchecked pages (snapshot/README.md).
    if (!exists) PAXOSFS_RETURN_IF_ERROR(ReservePageChecksums(db));
    // Only for a new file: on an existing one the pragma writes the header
    // (before quick_check could refuse a damaged store), and turning it on
    // there would take a full VACUUM, a copy of the whole file.
    if (!exists) {
      PAXOSFS_RETURN_IF_ERROR(store->Exec("PRAGMA auto_vacuum=INCREMENTAL"));
    }
    PAXOSFS_RETURN_IF_ERROR(store->Exec("PRAGMA journal_mode=WAL"));
    // NORMAL: commits write the WAL without fsync (they survive a process
    // crash); checkpoints fsync. Durable commits switch to FULL.
    PAXOSFS_RETURN_IF_ERROR(store->Exec("PRAGMA synchronous=NORMAL"));
    PAXOSFS_RETURN_IF_ERROR(store->Exec("PRAGMA cache_size=-65536"));
    // Debian builds SQLite with SECURE_DELETE: every page freed (a removed
    // file's chunks, the old pages of a rewritten chunk) was zeroed and
    // written through the WAL and back, as much I/O as writing the data.
    // FAST zeroes only inside pages written anyway.
    PAXOSFS_RETURN_IF_ERROR(store->Exec("PRAGMA secure_delete=FAST"));
    if (exists && options.check_on_open) {
      PAXOSFS_RETURN_IF_ERROR(store->QuickCheck());
    }
    // A crash while creating the store leaves a file without the schema
    // (creation is one transaction): start it afresh, never half-used.
    StatusOr<bool> created = store->HasSchema();
    if (!created.ok()) return created.status();
    if (!*created) {
      PAXOSFS_RETURN_IF_ERROR(store->CreateSchema(root_time_ns));
    } else {
      PAXOSFS_RETURN_IF_ERROR(store->Upgrade());
    }
  }
  PAXOSFS_RETURN_IF_ERROR(store->LoadAndVerifyMeta());
  if (!options.read_only) {
    Statement mode(store.get(), "PRAGMA auto_vacuum");
    StatusOr<bool> row = mode.Step();
    if (!row.ok()) return row.status();
    constexpr uint64_t kIncremental = 2;
    if (*row && mode.U64(0) == kIncremental &&
        options.vacuum_pages_per_commit > 0) {
      store->vacuum_sql_ = "PRAGMA incremental_vacuum(" +
                           std::to_string(options.vacuum_pages_per_commit) +
                           ")";
    }
    PAXOSFS_RETURN_IF_ERROR(store->StartCheckpointer());
  }
  return store;
}

Status Store::StartCheckpointer() {
  // Copy the WAL back at checkpoint_wal_bytes (see there) and on a thread
  // of its own: the hook replaces SQLite's automatic checkpoint, which runs
  // inside the committing writer.
  Statement page_size(this, "PRAGMA page_size");
  StatusOr<bool> row = page_size.Step();
  if (!row.ok()) return row.status();
  uint64_t page_bytes = *row && page_size.U64(0) > 0 ? page_size.U64(0) : 4096;
  CheckpointerOptions o;
  o.copy_pages = static_cast<int>(
      std::max<uint64_t>(1, options_.checkpoint_wal_bytes / page_bytes));
  o.writeback_pages =
      static_cast<int>(options_.wal_writeback_bytes / page_bytes);
  o.sync_every_ms = options_.wal_sync_every_ms;
  auto checkpointer = Checkpointer::Start(path_, o);
  if (!checkpointer.ok()) return checkpointer.status();
  checkpointer_ = std::move(checkpointer).value();
  sqlite3_wal_hook(
      db_,
      [](void* arg, sqlite3*, const char*, int pages) {
        static_cast<Checkpointer*>(arg)->WalGrew(pages);
        return SQLITE_OK;
      },
      checkpointer_.get());
  return Status::Ok();
}

Status Store::CreateSchema(int64_t root_time_ns) {
  PAXOSFS_RETURN_IF_ERROR(Begin(/*durable=*/true));
  Status s = Exec(kSchema);
  if (s.ok()) {
    meta_ = Meta{0, kRootIno + 1, 3};
    InodeRow root;
    root.ino = kRootIno;
    root.mode = kRootMode;
    root.nlink = 2;
    root.atime_ns = root.mtime_ns = root.ctime_ns = root_time_ns;
    root.parent = kRootIno;
    s = PutInode(root);
  }
  if (s.ok()) {
    Statement insert(this,
                     "INSERT INTO meta(id, format, chunk_size, applied_index,"
                     " next_ino, next_cookie, checksum)"
                     " VALUES (1, ?, ?, 0, 0, 0, 0)");
    s = insert.Bind(1, kFormat).Bind(2, chunk_size_).Run();
  }
  if (!s.ok()) {
    Rollback().ok();
    return s.WithContext("creating store " + path_);
  }
  return Commit();
}

StatusOr<bool> Store::HasSchema() {
  Statement s(this,
              "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
              " AND name = 'meta'");
  StatusOr<bool> row = s.Step();
  if (!row.ok()) return row.status();
  return *row && s.U64(0) == 1;
}

Status Store::QuickCheck() {
  TakePageChecksumFault();
  Statement check(this, "PRAGMA quick_check");
  StatusOr<bool> row = check.Step();
  if (!row.ok()) return row.status();
  std::string verdict = *row ? check.Blob(0) : "no answer";
  // The check reports a page that failed its checksum as unreadable; the
  // fault says why.
  std::string fault = TakePageChecksumFault();
  if (!fault.empty()) verdict += "; " + fault;
  if (verdict != "ok") {
    return SetCorrupt("integrity check failed (" + verdict + ")");
  }
  return Status::Ok();
}

StatusOr<Store::MetaRow> Store::ReadMetaRow() {
  if (!failed_.ok()) return failed_;
  Statement read(this,
                 "SELECT format, chunk_size, applied_index, next_ino,"
                 " next_cookie, checksum FROM meta WHERE id = 1");
  StatusOr<bool> row = read.Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return SetCorrupt("meta row missing");
  }
  MetaRow r{read.U64(0), read.U64(1), {read.U64(2), read.U64(3), read.U64(4)}};
  if (read.U64(5) != MetaChecksum(r.format, r.chunk_size, r.meta)) {
    return SetCorrupt("meta row checksum mismatch");
  }
  return r;
}

StatusOr<Meta> Store::ReadMeta() {
  StatusOr<MetaRow> r = ReadMetaRow();
  if (!r.ok()) return r.status();
  if (r->format != kFormat) {
    return Status::InvalidArgument(
        "store " + path_ + " has format " + std::to_string(r->format) +
        ", this build reads format " + std::to_string(kFormat) +
        (r->format < kFormat
             ? "; start `paxosfs serve` on it once: it upgrades the store"
             : "; use a matching paxosfs version"));
  }
  if (r->chunk_size != chunk_size_) {
    return Status::InvalidArgument(
        "store " + path_ + " uses chunk size " + std::to_string(r->chunk_size) +
        ", not the configured " + std::to_string(chunk_size_));
  }
  return r->meta;
}

Status Store::Upgrade() {
  StatusOr<MetaRow> r = ReadMetaRow();
  if (!r.ok()) return r.status();
  if (r->format != 1 && r->format != 2) return Status::Ok();
  // One durable transaction: a crash leaves the old format or the new one,
  // whole.
  PAXOSFS_RETURN_IF_ERROR(Begin(/*durable=*/true));
  meta_ = r->meta;
  Status s = r->format == 1 ? Exec(kUpgradeFrom1) : Status::Ok();
  if (s.ok()) s = Exec(kUpgradeFrom2);
  if (!s.ok()) {
    Rollback().ok();
    return s.WithContext("upgrading store " + path_ + " from format " +
                         std::to_string(r->format));
  }
  return Commit();
}

Status Store::LoadAndVerifyMeta() {
  StatusOr<Meta> m = ReadMeta();
  if (!m.ok()) return m.status();
  meta_ = *m;
  return Status::Ok();
}

Status Store::WriteMeta() {
  Statement write(this,
                  "UPDATE meta SET applied_index = ?, next_ino = ?,"
                  " next_cookie = ?, checksum = ? WHERE id = 1");
  return write.Bind(1, meta_.applied_index)
      .Bind(2, meta_.next_ino)
      .Bind(3, meta_.next_cookie)
      .Bind(4, MetaChecksum(kFormat, chunk_size_, meta_))
      .Run();
}

uint64_t Store::SyncedIndex() const {
  return checkpointer_ ? checkpointer_->synced_index() : 0;
}

Status Store::Begin(bool durable) {
  PAXOSFS_CHECK(!in_txn_);
  // A failed background fsync is sticky like one of our own (see Error).
  if (failed_.ok() && checkpointer_) failed_ = checkpointer_->error();
  if (!failed_.ok()) return failed_;
  if (!options_.read_only && durable != sync_full_) {
    PAXOSFS_RETURN_IF_ERROR(Exec(durable ? "PRAGMA synchronous=FULL"
                                         : "PRAGMA synchronous=NORMAL"));
    sync_full_ = durable;
  }
  // IMMEDIATE for the writer: take the write lock now, not at the first
  // write, so a slot never fails halfway for lack of the lock.
  PAXOSFS_RETURN_IF_ERROR(
      Exec(options_.read_only ? "BEGIN" : "BEGIN IMMEDIATE"));
  in_txn_ = true;
  // Before the transaction's own writes, so that they are appended rather
  // than put into holes.
  if (!options_.read_only && !vacuum_paused_) {
    Status s = ReturnFreePages();
    if (!s.ok()) {
      Rollback().ok();
      return s;
    }
  }
  return Status::Ok();
}

StatusOr<bool> Store::HasFreePagesToReturn() {
  if (vacuum_sql_.empty()) return false;
  {
    Statement count(this, "PRAGMA freelist_count");
    StatusOr<bool> row = count.Step();
    if (!row.ok()) return row.status();
    if (!*row || count.U64(0) == 0 ||
        count.U64(0) < options_.vacuum_min_free_pages) {
      return false;
    }
  }
  // Not while removed files wait to be freed: their pages usually sit at the
  // end of the file, so each step would move a page that a Collect is about
  // to free (measured: 4 KiB fsynced writes right after removing 128 MiB,
  // p50 2.8-2.9 -> 3.4-3.8 ms, p99 17 -> 30-32 ms, with it running).
  StatusOr<bool> garbage = HasGarbage();
  if (!garbage.ok()) return garbage.status();
  return !*garbage;
}

Status Store::ReturnFreePages() {
  StatusOr<bool> any = HasFreePagesToReturn();
  if (!any.ok() || !*any) return any.status();
  // The pragma yields a row per page it returns.
  Statement vacuum(this, vacuum_sql_.c_str());
  StatusOr<bool> row = vacuum.Step();
  while (row.ok() && *row) row = vacuum.Step();
  return row.ok() ? Status::Ok() : row.status();
}

StatusOr<bool> Store::Tidy() {
  PAXOSFS_CHECK(!in_txn_ && !options_.read_only);
  StatusOr<bool> any = HasFreePagesToReturn();
  if (!any.ok() || !*any) return any;
  PAXOSFS_RETURN_IF_ERROR(Begin());
  PAXOSFS_RETURN_IF_ERROR(Commit());
  return HasFreePagesToReturn();
}

Status Store::Commit() {
  PAXOSFS_CHECK(in_txn_);
  Status s = options_.read_only ? Status::Ok() : WriteMeta();
  if (s.ok()) s = Exec("COMMIT");
  if (!s.ok()) {
    Rollback().ok();
    return s;
  }
  in_txn_ = false;
  vacuum_paused_ = false;
  if (checkpointer_ && !sync_full_) {
    checkpointer_->Committed(meta_.applied_index);
  }
  return Status::Ok();
}

Status Store::Rollback() {
  PAXOSFS_CHECK(in_txn_);
  in_txn_ = false;
  vacuum_paused_ = true;
  if (sqlite3_get_autocommit(db_)) return Status::Ok();
  return Exec("ROLLBACK");
}

Status Store::Exec(const char* sql) {
  if (db_ == nullptr) return failed_;
  char* message = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  sqlite3_free(message);
  return rc == SQLITE_OK ? Status::Ok() : Error(rc, sql);
}

sqlite3_stmt* Store::Prepare(const char* sql) {
  // Statements are cached by the address of their SQL literal: every caller
  // passes a string constant, so the address identifies the statement.
  for (auto& [key, stmt] : cache_) {
    if (key == sql) return stmt;
  }
  if (db_ == nullptr || !failed_.ok()) return nullptr;
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt,
                              nullptr);
  if (rc != SQLITE_OK) {
    Error(rc, sql).ok();
    return nullptr;
  }
  cache_.emplace_back(sql, stmt);
  return stmt;
}

Status Store::SetCorrupt(const std::string& what) {
  failed_ = Status::Corruption(what + CorruptAdvice(path_));
  if (options_.on_corruption) options_.on_corruption(failed_);
  return failed_;
}

Status Store::Error(int rc, const char* what) {
  if (!failed_.ok()) return failed_;
  std::string message = std::string(sqlite3_errstr(rc));
  if (db_ != nullptr && rc != SQLITE_ERROR) {
    message = sqlite3_errmsg(db_);
  } else if (db_ != nullptr) {
    message += std::string(": ") + sqlite3_errmsg(db_);
  }
  message += " (" + std::string(what).substr(0, 80) + ") in " + path_;
  if (rc == SQLITE_IOERR_DATA) {
    return SetCorrupt(message + ": " + TakePageChecksumFault());
  }
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return SetCorrupt(message);
    case SQLITE_FULL:
      return Status::NoSpace(message + "; free disk space and restart");
    case SQLITE_IOERR:
      // After a failed write or fsync the kernel may have dropped the dirty
      // pages and marked them clean, so a later fsync would succeed without
      // them: the WAL on disk is uncertain. Like the log, the store refuses
      // every later call rather than claim durability it may not have.
      failed_ = Status::IOError(
          message +
          "; the store on disk is uncertain after a failed write or fsync: "
          "check the disk, then restart the node (it replays the log from "
          "its last checkpoint)");
      return failed_;
    case SQLITE_CANTOPEN:
      return Status::IOError(message + "; check the path and permissions");
    default:
      return Status::IOError(message);
  }
}

}  // namespace paxosfs::snapshot
