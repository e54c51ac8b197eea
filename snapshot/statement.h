// Internal to snapshot/: a cached prepared statement, bound and stepped for
// one use. The destructor resets it so the cache can hand it out again.
//
// Thread safety: as the Store it belongs to (one thread at a time).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "snapshot/store.h"

namespace paxosfs::snapshot {

class Statement {
 public:
  Statement(Store* store, const char* sql)
      : store_(store), stmt_(store->Prepare(sql)) {}
  ~Statement() {
    if (stmt_ != nullptr) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are numbered from 1, as in SQL. Unsigned values are stored
  // bit for bit as SQLite's signed 64-bit integers.
  Statement& Bind(int index, uint64_t value) {
    if (stmt_ != nullptr) {
      sqlite3_bind_int64(stmt_, index, static_cast<sqlite3_int64>(value));
    }
    return *this;
  }
  Statement& BindSigned(int index, int64_t value) {
    if (stmt_ != nullptr) sqlite3_bind_int64(stmt_, index, value);
    return *this;
  }
  Statement& BindBlob(int index, std::string_view value) {
    if (stmt_ != nullptr) {
      // SQLITE_STATIC: the caller keeps `value` alive until the statement
      // is stepped, which happens before this object dies.
      sqlite3_bind_blob64(stmt_, index, value.empty() ? "" : value.data(),
                          value.size(), SQLITE_STATIC);
    }
    return *this;
  }

  // Returns true while a row is available, false when done.
  StatusOr<bool> Step() {
    if (stmt_ == nullptr) return store_->Error(SQLITE_ERROR, "prepare");
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return store_->Error(rc, sqlite3_sql(stmt_));
  }
  // Steps a statement that returns no rows.
  Status Run() {
    StatusOr<bool> row = Step();
    return row.ok() ? Status::Ok() : row.status();
  }

  uint64_t U64(int column) const {
    return static_cast<uint64_t>(sqlite3_column_int64(stmt_, column));
  }
  int64_t I64(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::string Blob(int column) const {
    const void* data = sqlite3_column_blob(stmt_, column);
    int size = sqlite3_column_bytes(stmt_, column);
    if (data == nullptr || size <= 0) return std::string();
    return std::string(static_cast<const char*>(data), size);
  }
  sqlite3_stmt* raw() const { return stmt_; }
  int Changes() const { return sqlite3_changes(sqlite3_db_handle(stmt_)); }

 private:
  Store* store_;
  sqlite3_stmt* stmt_;
};

}  // namespace paxosfs::snapshot
