// The SQLite store the filesystem state machine lives in: typed rows for
// inodes, directory entries, chunks, extended attributes and client
// sessions, plus the meta row (applied index, allocation counters) that is
// written in the same transaction as the state it describes. SQLite stays
// behind this header; the schema and crash rules are in snapshot/README.md.
//
// Thread safety: a Store is one SQLite connection and is used by one thread
// at a time. The applier owns the writable Store; each reader thread opens
// its own read-only Store on the same file. WAL mode gives every read
// transaction a snapshot of the last committed state, so readers never block
// the writer and never see a half-applied slot.
//
// Errors: a Status. kCorruption (SQLite reported a malformed database, the
// integrity check failed, or the meta row's checksum does not match) is
// sticky: every later call returns it, so a corrupt store is never served.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace paxosfs::snapshot {

class Checkpointer;

// Chunk keys handed out by Store::NewDataKey start here, far above any
// inode number.
inline constexpr uint64_t kDataKeyBase = uint64_t{1} << 62;

struct InodeRow {
  uint64_t ino = 0;
  uint32_t mode = 0;  // S_IF* type bits | permission bits.
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t nlink = 0;
  uint64_t size = 0;
  int64_t atime_ns = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint64_t parent = 0;  // Directories: the one directory holding them.
  uint32_t rdev = 0;
  uint64_t stored = 0;  // Bytes held in this inode's chunks (holes: none).
  std::string target;   // Symlinks: the link text.
  // The key its chunks are stored under; 0 means the inode number. A file
  // truncated to zero gets a fresh key (Store::NewDataKey), and its old
  // chunks become garbage.
  uint64_t data = 0;
  uint64_t data_key() const { return data != 0 ? data : ino; }
};

struct DentryRow {
  std::string name;
  uint64_t ino = 0;
  uint32_t type = 0;    // S_IF* bits of the inode, for readdir.
  uint64_t cookie = 0;  // Stable readdir position, unique, never reused.
};

struct SessionRow {
  uint64_t sequence = 0;
  std::string result;  // The encoded result returned for `sequence`.
};

// An inode without names kept for the open handles of node `node`'s
// process started at `boot` until that node releases it.
struct OrphanRow {
  uint64_t ino = 0;
  uint64_t node = 0;
  uint64_t boot = 0;
};

// The meta row: one per store, checksummed, written with every commit.
struct Meta {
  uint64_t applied_index = 0;
  uint64_t next_ino = 0;     // The next inode number to hand out.
  uint64_t next_cookie = 0;  // The next readdir cookie to hand out.
};

struct StoreOptions {
  bool read_only = false;
  // PRAGMA quick_check when the writer opens: O(database size) but far
  // cheaper than integrity_check; turn off for very large stores.
  bool check_on_open = true;
  // Fixed when the store is created; Open fails if it differs.
  uint32_t chunk_size = 64 * 1024;
  // SQLite page size of a new store (an existing one keeps its own). 16 KiB
  // rather than SQLite's 4: a 64 KiB chunk then spans 4 overflow pages, not
  // 16, so a 1 MiB write costs a quarter of the WAL frames and syscalls
  // (measured: -25..65% applier CPU for 1 MiB writes, about +15..30% for
  // 4 KiB writes and small files, whose cost is dominated elsewhere).
  uint32_t page_size = 16 * 1024;
  // Writer, stores created with incremental auto-vacuum (every new store):
  // each transaction while no garbage waits (see FreeGarbage) first returns
  // up to this many free pages to the file system, moving pages from the
  // end of the file into the holes, so that new chunks are appended and a
  // file's chunks lie together on disk. Without it, a file written after
  // others were removed was scattered over the freed pages and read cold at
  // a quarter of the speed (bench/RESULTS.md, 2026-12-02). 0 turns it off.
  uint32_t vacuum_pages_per_commit = 256;
  // ... but only once at least this many pages are free: the few pages a
  // small change frees are reused in place. Moving pages into them (with
  // the pages pointing at those, and the pointer map) wrote 11% more bytes
  // per small file created and removed than a store without auto-vacuum;
  // 5-7% with this threshold.
  uint32_t vacuum_min_free_pages = 64;
  // Writer: the WAL is copied back into the database (on a thread of its
  // own, snapshot/checkpointer.h) once a commit leaves it this long. The
  // copy ends with an fsync of everything copied, and the disk serves that
  // burst before the log's next fdatasync: at 64 MiB a 4 KiB fsynced write
  // right after a large write waited up to 95-157 ms, at 8 MiB 22-25 ms
  // (bench/RESULTS.md, 2026-12-01 second session).
  uint64_t checkpoint_wal_bytes = 8 << 20;
  // Writer: each time the WAL grows by this much, its writeback starts in
  // the background, so no fsync of it meets megabytes at once
  // (snapshot/checkpointer.h); 0 leaves writeback to the fsyncs.
  uint64_t wal_writeback_bytes = 1 << 20;
  // Writer: commits are made durable in the background this often (an
  // fsync of the WAL on the checkpointer's thread, see SyncedIndex); 0 leaves
  // durability to Begin(durable=true) alone.
  int wal_sync_every_ms = 2000;
  // Called once, on the thread that found it, when this store turns
  // kCorruption (see Errors above), with that status: how the node learns
  // that a reader or the applier hit damage. Must not use the store.
  std::function<void(const Status&)> on_corruption;
};

class Store {
 public:
  // Opens or (writer only) creates the store at `path`. A new store holds
  // only the root directory (inode 1, owned by root, mode 0755) at index 0,
  // stamped with `root_time_ns`.
  static StatusOr<std::unique_ptr<Store>> Open(const std::string& path,
                                               const StoreOptions& options,
                                               int64_t root_time_ns = 0);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  uint32_t chunk_size() const { return chunk_size_; }

  // Transactions. The writer groups each applied slot in one; a reader
  // groups several reads in one to get a consistent snapshot.
  // REQUIRES: no transaction open (Begin); one open (Commit, Rollback).
  // `durable` (writer): the commit fsyncs the WAL before returning (a
  // checkpoint). Otherwise it survives a process crash but maybe not a power
  // loss. SQLite fixes this per transaction, hence it is chosen at Begin.
  // The writer's Begin first returns free pages (see
  // vacuum_pages_per_commit), except right after a transaction failed, so
  // that a retry on a nearly full disk does no more than the slot needs.
  Status Begin(bool durable = false);
  // The writer also writes the meta row, so a commit is never empty.
  Status Commit();
  Status Rollback();
  // Writer, no transaction open: while no slot waits, one transaction that
  // only returns free pages. Returns whether free pages remain to return.
  StatusOr<bool> Tidy();

  // Writer: the highest applied index the background sync made durable
  // (commits made durable by Begin(durable=true) are not counted here).
  uint64_t SyncedIndex() const;

  // The meta row as of the last commit or SetMeta (writer), or as read now
  // from the file (reader, ReadMeta).
  const Meta& meta() const { return meta_; }
  void SetMeta(const Meta& meta) { meta_ = meta; }
  StatusOr<Meta> ReadMeta();

  StatusOr<std::optional<InodeRow>> GetInode(uint64_t ino);
  Status PutInode(const InodeRow& row);
  // Deletes the inode and its xattrs; its chunks are the caller's to delete
  // or to hand to AddGarbage.
  Status DeleteInode(uint64_t ino);
  StatusOr<uint64_t> CountInodes();

  StatusOr<std::optional<DentryRow>> GetDentry(uint64_t parent,
                                               const std::string& name);
  Status PutDentry(uint64_t parent, const DentryRow& row);
  Status DeleteDentry(uint64_t parent, const std::string& name);
  StatusOr<bool> HasDentries(uint64_t parent);
  // Entries of `parent` with cookie > after_cookie, by cookie, at most
  // `limit` of them.
  StatusOr<std::vector<DentryRow>> ListDentries(uint64_t parent,
                                                uint64_t after_cookie,
                                                uint32_t limit);

  // Chunk `index` of `ino`: at most chunk_size bytes; bytes past its end (up
  // to the file size) read as zeros. Missing chunks are holes.
  StatusOr<std::optional<std::string>> GetChunk(uint64_t ino, uint64_t index);
  // The length of chunk `index` (0 for a hole) without reading its bytes.
  StatusOr<uint64_t> ChunkLength(uint64_t ino, uint64_t index);
  Status PutChunk(uint64_t ino, uint64_t index, std::string_view data);
  // Writes `data` at `offset` inside chunk `index` in place (only the pages
  // it touches change), if the chunk exists and already reaches
  // offset + data.size(); false (nothing written) otherwise.
  StatusOr<bool> OverwriteChunk(uint64_t ino, uint64_t index, uint64_t offset,
                                std::string_view data);
  // Returns the number of bytes the deleted chunks held.
  StatusOr<uint64_t> DeleteChunksFrom(uint64_t ino, uint64_t first_index);
  // Chunks with first <= index <= last, by index.
  StatusOr<std::vector<std::pair<uint64_t, std::string>>> GetChunks(
      uint64_t ino, uint64_t first, uint64_t last);
  // Bytes held in all chunks of the store, garbage included.
  StatusOr<uint64_t> TotalStoredBytes();

  // Garbage: chunk sets no inode refers to any more (`data` keys, holding
  // `stored` bytes), freed a bounded number of chunks at a time so that
  // removing a large file does not stall the writer for one long slot.
  Status AddGarbage(uint64_t data, uint64_t stored);
  // Deletes up to `max_chunks` garbage chunks, oldest key first, lowest
  // index first (the same chunks on every replica); returns whether any
  // garbage is left.
  StatusOr<bool> FreeGarbage(uint32_t max_chunks);
  StatusOr<bool> HasGarbage();
  // A chunk key no inode number and no earlier key has: kDataKeyBase plus a
  // counter of its own. Not taken from next_ino, so inode numbers stay the
  // same on every replica even while some run a build without data keys
  // (a rolling upgrade).
  StatusOr<uint64_t> NewDataKey();

  StatusOr<std::optional<std::string>> GetXattr(uint64_t ino,
                                                const std::string& name);
  Status PutXattr(uint64_t ino, const std::string& name,
                  std::string_view value);
  // Returns whether the attribute existed.
  StatusOr<bool> DeleteXattr(uint64_t ino, const std::string& name);
  StatusOr<std::vector<std::string>> ListXattrs(uint64_t ino);
  // Whether any inode has an xattr called `name` (scans the xattrs table:
  // its key starts with the inode).
  StatusOr<bool> AnyXattrNamed(const std::string& name);

  StatusOr<std::optional<SessionRow>> GetSession(uint64_t node,
                                                 uint64_t session);
  Status PutSession(uint64_t node, uint64_t session, const SessionRow& row);

  Status PutOrphan(const OrphanRow& row);
  StatusOr<std::optional<OrphanRow>> GetOrphan(uint64_t ino);
  Status DeleteOrphan(uint64_t ino);
  // The inodes `node` kept for processes started before `boot`, in order.
  StatusOr<std::vector<uint64_t>> StaleOrphans(uint64_t node, uint64_t boot);

  // A hash over the logical state (every row of every table, in key order,
  // with the meta row), independent of insertion order and of SQLite's file
  // layout. Runs in its own read transaction if none is open.
  // REQUIRES (writer): no transaction open.
  StatusOr<uint64_t> Digest();

  // Abandons the connection without committing (a crash, for tests).
  void TEST_Abandon();
  // Background checkpoints completed (writer).
  uint64_t TEST_checkpoints() const;
  // Background writebacks of the WAL started (writer).
  uint64_t TEST_writebacks() const;

 private:
  friend class Statement;
  Store(sqlite3* db, const std::string& path, const StoreOptions& options);

  Status Exec(const char* sql);
  Status CreateSchema(int64_t root_time_ns);
  StatusOr<bool> HasSchema();
  // Brings an older store's schema to this build's format.
  Status Upgrade();
  struct MetaRow {
    uint64_t format = 0;
    uint64_t chunk_size = 0;
    Meta meta;
  };
  // The meta row with its checksum verified, whatever its format.
  StatusOr<MetaRow> ReadMetaRow();
  Status LoadAndVerifyMeta();
  Status WriteMeta();
  // Whether the file has free pages to return and no garbage waits.
  StatusOr<bool> HasFreePagesToReturn();
  // Runs a bounded incremental vacuum if HasFreePagesToReturn.
  Status ReturnFreePages();
  Status QuickCheck();
  Status StartCheckpointer();
  sqlite3_stmt* Prepare(const char* sql);
  // Converts an SQLite result code to a Status; corruption is sticky.
  Status Error(int rc, const char* what);

  sqlite3* db_;
  std::string path_;
  // Makes the store sticky-corrupt with `what` and tells on_corruption.
  Status SetCorrupt(const std::string& what);

  StoreOptions options_;
  uint32_t chunk_size_;
  bool in_txn_ = false;
  bool sync_full_ = false;  // PRAGMA synchronous is FULL (else NORMAL).
  // "PRAGMA incremental_vacuum(N)", a cached statement keyed by this
  // string's address; empty if the store was created without auto-vacuum
  // (before 2026-12-02) or vacuum_pages_per_commit is 0.
  std::string vacuum_sql_;
  bool vacuum_paused_ = false;  // The last transaction failed.
  Meta meta_;
  Status failed_;
  std::vector<std::pair<const char*, sqlite3_stmt*>> cache_;
  std::unique_ptr<Checkpointer> checkpointer_;  // Writer only.
};

}  // namespace paxosfs::snapshot
