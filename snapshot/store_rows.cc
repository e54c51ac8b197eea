// Row accessors and the logical-state digest.
#include <sqlite3.h>

#include "common/checksum.h"
#include "snapshot/statement.h"
#include "snapshot/store.h"

namespace paxosfs::snapshot {
namespace {

InodeRow ReadInode(const Statement& s) {
  InodeRow r;
  r.ino = s.U64(0);
  r.mode = static_cast<uint32_t>(s.U64(1));
  r.uid = static_cast<uint32_t>(s.U64(2));
  r.gid = static_cast<uint32_t>(s.U64(3));
  r.nlink = s.U64(4);
  r.size = s.U64(5);
  r.atime_ns = s.I64(6);
  r.mtime_ns = s.I64(7);
  r.ctime_ns = s.I64(8);
  r.parent = s.U64(9);
  r.rdev = static_cast<uint32_t>(s.U64(10));
  r.stored = s.U64(11);
  r.target = s.Blob(12);
  r.data = s.U64(13);
  return r;
}

}  // namespace

StatusOr<std::optional<InodeRow>> Store::GetInode(uint64_t ino) {
  Statement s(this,
              "SELECT ino, mode, uid, gid, nlink, size, atime, mtime, ctime,"
              " parent, rdev, stored, target, data FROM inodes WHERE ino = ?");
  s.Bind(1, ino);
  StatusOr<bool> row = s.Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<InodeRow>();
  return std::optional<InodeRow>(ReadInode(s));
}

Status Store::PutInode(const InodeRow& r) {
  Statement s(this,
              "INSERT OR REPLACE INTO inodes(ino, mode, uid, gid, nlink, size,"
              " atime, mtime, ctime, parent, rdev, stored, target, data)"
              " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  return s.Bind(1, r.ino)
      .Bind(2, r.mode)
      .Bind(3, r.uid)
      .Bind(4, r.gid)
      .Bind(5, r.nlink)
      .Bind(6, r.size)
      .BindSigned(7, r.atime_ns)
      .BindSigned(8, r.mtime_ns)
      .BindSigned(9, r.ctime_ns)
      .Bind(10, r.parent)
      .Bind(11, r.rdev)
      .Bind(12, r.stored)
      .BindBlob(13, r.target)
      .Bind(14, r.data)
      .Run();
}

Status Store::DeleteInode(uint64_t ino) {
  Statement x(this, "DELETE FROM xattrs WHERE ino = ?");
  PAXOSFS_RETURN_IF_ERROR(x.Bind(1, ino).Run());
  Statement s(this, "DELETE FROM inodes WHERE ino = ?");
  return s.Bind(1, ino).Run();
}

StatusOr<uint64_t> Store::CountInodes() {
  Statement s(this, "SELECT count(*) FROM inodes");
  StatusOr<bool> row = s.Step();
  if (!row.ok()) return row.status();
  return s.U64(0);
}

StatusOr<std::optional<DentryRow>> Store::GetDentry(uint64_t parent,
                                                    const std::string& name) {
  Statement s(this,
              "SELECT ino, type, cookie FROM dentries"
              " WHERE parent = ? AND name = ?");
  s.Bind(1, parent).BindBlob(2, name);
  StatusOr<bool> row = s.Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<DentryRow>();
  return std::optional<DentryRow>(
      DentryRow{name, s.U64(0), static_cast<uint32_t>(s.U64(1)), s.U64(2)});
}

Status Store::PutDentry(uint64_t parent, const DentryRow& r) {
  Statement s(this,
              "INSERT OR REPLACE INTO dentries(parent, name, ino, type, cookie)"
              " VALUES (?, ?, ?, ?, ?)");
  return s.Bind(1, parent)
      .BindBlob(2, r.name)
      .Bind(3, r.ino)
      .Bind(4, r.type)
      .Bind(5, r.cookie)
      .Run();
}

Status Store::DeleteDentry(uint64_t parent, const std::string& name) {
  Statement s(this, "DELETE FROM dentries WHERE parent = ? AND name = ?");
  return s.Bind(1, parent).BindBlob(2, name).Run();
}

StatusOr<bool> Store::HasDentries(uint64_t parent) {
  Statement s(this, "SELECT 1 FROM dentries WHERE parent = ? LIMIT 1");
  return s.Bind(1, parent).Step();
}

StatusOr<std::vector<DentryRow>> Store::ListDentries(uint64_t parent,
                                                     uint64_t after_cookie,
                                                     uint32_t limit) {
  Statement s(this,
              "SELECT name, ino, type, cookie FROM dentries"
              " WHERE parent = ? AND cookie > ? ORDER BY cookie LIMIT ?");
  s.Bind(1, parent).Bind(2, after_cookie).Bind(3, limit);
  std::vector<DentryRow> out;
  while (true) {
    StatusOr<bool> row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(DentryRow{s.Blob(0), s.U64(1),
                            static_cast<uint32_t>(s.U64(2)), s.U64(3)});
  }
  return out;
}

StatusOr<std::optional<std::string>> Store::GetChunk(uint64_t ino,
                                                     uint64_t index) {
  Statement s(this, "SELECT data FROM chunks WHERE ino = ? AND idx = ?");
  s.Bind(1, ino).Bind(2, index);
  StatusOr<bool> row = s.Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(s.Blob(0));
}

StatusOr<uint64_t> Store::ChunkLength(uint64_t ino, uint64_t index) {
  Statement s(this,
              "SELECT length(data) FROM chunks WHERE ino = ? AND idx = ?");
  s.Bind(1, ino).Bind(2, index);
  StatusOr<bool> row = s.Step();
  if (!row.ok()) return row.status();
  return *row ? s.U64(0) : 0;
}

StatusOr<bool> Store::OverwriteChunk(uint64_t ino, uint64_t index,
                                     uint64_t offset, std::string_view data) {
  Statement s(
      this, "SELECT rowid, length(data) FROM chunks WHERE ino = ? AND idx = ?");
  s.Bind(1, ino).Bind(2, index);
  StatusOr<bool> row = s.Step();
  if (!row.ok()) return row.status();
  if (!*row || offset + data.size() > s.U64(1)) return false;
  sqlite3_blob* blob = nullptr;
  int rc = sqlite3_blob_open(db_, "main", "chunks", "data",
                             static_cast<sqlite3_int64>(s.U64(0)), 1, &blob);
  if (rc == SQLITE_OK) {
    rc = sqlite3_blob_write(blob, data.data(), static_cast<int>(data.size()),
                            static_cast<int>(offset));
  }
  int closed = sqlite3_blob_close(blob);
  if (rc == SQLITE_OK) rc = closed;
  if (rc != SQLITE_OK) return Error(rc, "overwrite chunk");
  return true;
}

Status Store::PutChunk(uint64_t ino, uint64_t index, std::string_view data) {
  PAXOSFS_CHECK(data.size() <= chunk_size_);
  Statement s(this,
              "INSERT OR REPLACE INTO chunks(ino, idx, data) VALUES (?, ?, ?)");
  return s.Bind(1, ino).Bind(2, index).BindBlob(3, data).Run();
}

StatusOr<uint64_t> Store::DeleteChunksFrom(uint64_t ino, uint64_t first_index) {
  // length() reads the record header only, not the blob's overflow pages.
  Statement sum(this,
                "SELECT coalesce(sum(length(data)), 0) FROM chunks"
                " WHERE ino = ? AND idx >= ?");
  sum.Bind(1, ino).Bind(2, first_index);
  StatusOr<bool> row = sum.Step();
  if (!row.ok()) return row.status();
  uint64_t freed = sum.U64(0);
  Statement s(this, "DELETE FROM chunks WHERE ino = ? AND idx >= ?");
  PAXOSFS_RETURN_IF_ERROR(s.Bind(1, ino).Bind(2, first_index).Run());
  return freed;
}

StatusOr<std::vector<std::pair<uint64_t, std::string>>> Store::GetChunks(
    uint64_t ino, uint64_t first, uint64_t last) {
  Statement s(this,
              "SELECT idx, data FROM chunks WHERE ino = ? AND idx >= ?"
              " AND idx <= ? ORDER BY idx");
  s.Bind(1, ino).Bind(2, first).Bind(3, last);
  std::vector<std::pair<uint64_t, std::string>> out;
  while (true) {
    StatusOr<bool> row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.emplace_back(s.U64(0), s.Blob(1));
  }
  return out;
}

StatusOr<uint64_t> Store::TotalStoredBytes() {
  // The per-inode totals: one row per file instead of one per chunk.
  Statement s(this,
              "SELECT (SELECT coalesce(sum(stored), 0) FROM inodes) +"
              " (SELECT coalesce(sum(stored), 0) FROM garbage)");
  StatusOr<bool> row = s.Step();
  if (!row.ok()) return row.status();
  return s.U64(0);
}

Status Store::AddGarbage(uint64_t data, uint64_t stored) {
  Statement s(this, "INSERT INTO garbage(data, stored) VALUES (?, ?)");
  return s.Bind(1, data).Bind(2, stored).Run();
}

StatusOr<bool> Store::FreeGarbage(uint32_t max_chunks) {
  uint64_t budget = max_chunks;
  while (budget > 0) {
    Statement first(this,
                    "SELECT data, stored FROM garbage ORDER BY data LIMIT 1");
    StatusOr<bool> row = first.Step();
    if (!row.ok()) return row.status();
    if (!*row) return false;
    const uint64_t data = first.U64(0);
    const uint64_t stored = first.U64(1);
    // The chunks to free now: the key's lowest `budget` indexes.
    Statement batch(this,
                    "SELECT count(*), coalesce(sum(length(data)), 0),"
                    " coalesce(max(idx), 0) FROM (SELECT idx, data FROM chunks"
                    " WHERE ino = ? ORDER BY idx LIMIT ?)");
    batch.Bind(1, data).Bind(2, budget);
    row = batch.Step();
    if (!row.ok()) return row.status();
    const uint64_t count = batch.U64(0);
    const uint64_t bytes = batch.U64(1);
    const uint64_t last = batch.U64(2);
    if (count > 0) {
      Statement del(this, "DELETE FROM chunks WHERE ino = ? AND idx <= ?");
      PAXOSFS_RETURN_IF_ERROR(del.Bind(1, data).Bind(2, last).Run());
    }
    budget -= count;
    if (count > 0 && budget == 0) {
      Statement left(this, "UPDATE garbage SET stored = ? WHERE data = ?");
      PAXOSFS_RETURN_IF_ERROR(left.Bind(1, stored > bytes ? stored - bytes : 0)
                                  .Bind(2, data)
                                  .Run());
      break;
    }
    Statement done(this, "DELETE FROM garbage WHERE data = ?");
    PAXOSFS_RETURN_IF_ERROR(done.Bind(1, data).Run());
  }
  return HasGarbage();
}

StatusOr<uint64_t> Store::NewDataKey() {
  Statement read(this, "SELECT next FROM data_keys WHERE id = 1");
  StatusOr<bool> row = read.Step();
  if (!row.ok()) return row.status();
  const uint64_t next = *row ? read.U64(0) : 0;
  Statement write(this,
                  "INSERT OR REPLACE INTO data_keys(id, next) VALUES (1, ?)");
  PAXOSFS_RETURN_IF_ERROR(write.Bind(1, next + 1).Run());
  return kDataKeyBase | next;
}

StatusOr<bool> Store::HasGarbage() {
  Statement s(this, "SELECT EXISTS (SELECT 1 FROM garbage)");
  StatusOr<bool> row = s.Step();
  if (!row.ok()) return row.status();
  return *row && s.U64(0) != 0;
}

StatusOr<std::optional<std::string>> Store::GetXattr(uint64_t ino,
                                                     const std::string& name) {
  Statement s(this, "SELECT value FROM xattrs WHERE ino = ? AND name = ?");
  s.Bind(1, ino).BindBlob(2, name);
  StatusOr<bool> row = s.Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(s.Blob(0));
}

Status Store::PutXattr(uint64_t ino, const std::string& name,
                       std::string_view value) {
  Statement s(
      this, "INSERT OR REPLACE INTO xattrs(ino, name, value) VALUES (?, ?, ?)");
  return s.Bind(1, ino).BindBlob(2, name).BindBlob(3, value).Run();
}

StatusOr<bool> Store::DeleteXattr(uint64_t ino, const std::string& name) {
  Statement s(this, "DELETE FROM xattrs WHERE ino = ? AND name = ?");
  PAXOSFS_RETURN_IF_ERROR(s.Bind(1, ino).BindBlob(2, name).Run());
  return s.Changes() > 0;
}

StatusOr<bool> Store::AnyXattrNamed(const std::string& name) {
  Statement s(this, "SELECT 1 FROM xattrs WHERE name = ? LIMIT 1");
  s.BindBlob(1, name);
  return s.Step();
}

StatusOr<std::vector<std::string>> Store::ListXattrs(uint64_t ino) {
  Statement s(this, "SELECT name FROM xattrs WHERE ino = ? ORDER BY name");
  s.Bind(1, ino);
  std::vector<std::string> out;
  while (true) {
    StatusOr<bool> row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(s.Blob(0));
  }
  return out;
}

StatusOr<std::optional<SessionRow>> Store::GetSession(uint64_t node,
                                                      uint64_t session) {
  Statement s(this,
              "SELECT sequence, result FROM sessions"
              " WHERE node = ? AND session = ?");
  s.Bind(1, node).Bind(2, session);
  StatusOr<bool> row = s.Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<SessionRow>();
  return std::optional<SessionRow>(SessionRow{s.U64(0), s.Blob(1)});
}

Status Store::PutSession(uint64_t node, uint64_t session, const SessionRow& r) {
  Statement s(this,
              "INSERT OR REPLACE INTO sessions(node, session, sequence, result)"
              " VALUES (?, ?, ?, ?)");
  return s.Bind(1, node)
      .Bind(2, session)
      .Bind(3, r.sequence)
      .BindBlob(4, r.result)
      .Run();
}

namespace {

// Feeds every row of one query into the hasher, each column typed and
// length-prefixed so that no two different states hash the same bytes.
Status HashQuery(Statement& s, Hasher& h) {
  while (true) {
    StatusOr<bool> row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
    h.Update("row");
    // Column types are fixed by the schema: integers, then blobs.
    int columns = sqlite3_column_count(s.raw());
    for (int c = 0; c < columns; ++c) {
      if (sqlite3_column_type(s.raw(), c) == SQLITE_INTEGER) {
        h.UpdateU64(s.U64(c));
      } else {
        std::string blob = s.Blob(c);
        h.UpdateU64(blob.size());
        h.Update(blob);
      }
    }
  }
}

}  // namespace

Status Store::PutOrphan(const OrphanRow& r) {
  Statement s(this, "INSERT INTO orphans(ino, node, boot) VALUES (?, ?, ?)");
  return s.Bind(1, r.ino).Bind(2, r.node).Bind(3, r.boot).Run();
}

StatusOr<std::optional<OrphanRow>> Store::GetOrphan(uint64_t ino) {
  Statement s(this, "SELECT node, boot FROM orphans WHERE ino = ?");
  s.Bind(1, ino);
  StatusOr<bool> row = s.Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<OrphanRow>();
  return std::optional<OrphanRow>(OrphanRow{ino, s.U64(0), s.U64(1)});
}

Status Store::DeleteOrphan(uint64_t ino) {
  Statement s(this, "DELETE FROM orphans WHERE ino = ?");
  return s.Bind(1, ino).Run();
}

StatusOr<std::vector<uint64_t>> Store::StaleOrphans(uint64_t node,
                                                    uint64_t boot) {
  Statement s(this,
              "SELECT ino FROM orphans WHERE node = ? AND boot < ?"
              " ORDER BY ino");
  s.Bind(1, node).Bind(2, boot);
  std::vector<uint64_t> out;
  for (;;) {
    StatusOr<bool> row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(s.U64(0));
  }
}

StatusOr<uint64_t> Store::Digest() {
  // Key order, never rowid or file order: two stores holding the same rows
  // hash the same however they got there.
  static constexpr const char* kQueries[] = {
      "SELECT ino, mode, uid, gid, nlink, size, atime, mtime, ctime, parent,"
      " rdev, stored, target, data FROM inodes ORDER BY ino",
      "SELECT parent, name, ino, type, cookie FROM dentries"
      " ORDER BY parent, name",
      "SELECT ino, idx, data FROM chunks ORDER BY ino, idx",
      "SELECT ino, name, value FROM xattrs ORDER BY ino, name",
      "SELECT data, stored FROM garbage ORDER BY data",
      "SELECT next FROM data_keys",
      "SELECT node, session, sequence, result FROM sessions"
      " ORDER BY node, session",
      "SELECT ino, node, boot FROM orphans ORDER BY ino",
      "SELECT format, chunk_size, applied_index, next_ino, next_cookie"
      " FROM meta",
  };
  // The writer's meta row is only written at commit.
  PAXOSFS_CHECK(options_.read_only || !in_txn_);
  bool own_txn = !in_txn_;
  if (own_txn) PAXOSFS_RETURN_IF_ERROR(Exec("BEGIN"));
  Hasher h;
  Status status;
  for (const char* sql : kQueries) {
    Statement s(this, sql);
    h.Update(sql);
    status = HashQuery(s, h);
    if (!status.ok()) break;
  }
  if (own_txn) {
    Status end = Exec(status.ok() ? "COMMIT" : "ROLLBACK");
    if (status.ok()) status = end;
  }
  if (!status.ok()) return status;
  return h.Digest();
}

}  // namespace paxosfs::snapshot
