// The store tests' fixture: a fresh directory per test, stores opened in
// it, pragmas read and SQL run behind the store's back; and a helper that
// commits chunks.
#pragma once

#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "common/check.h"
#include "common/checksum.h"
#include "gtest/gtest.h"
#include "snapshot/store.h"

namespace paxosfs::snapshot::testing {

// Commits chunks `first`.. of 64 KiB to key 2, one per transaction.
inline void CommitChunks(Store& w, uint64_t first, uint64_t count) {
  for (uint64_t i = first; i < first + count; ++i) {
    ASSERT_TRUE(w.Begin().ok());
    ASSERT_TRUE(w.PutChunk(2, i, std::string(64 * 1024, 'x')).ok());
    w.SetMeta(Meta{i + 1, 3, 3});
    ASSERT_TRUE(w.Commit().ok());
  }
}

class StoreTest : public ::testing::Test {
 protected:
  StoreTest() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "paxosfs-store-XXXXXX")
            .string();
    PAXOSFS_CHECK(mkdtemp(tmpl.data()) != nullptr);
    dir_ = tmpl;
  }
  ~StoreTest() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<Store> OpenStore(const std::string& name,
                                   const StoreOptions& options) {
    auto s = Store::Open(dir_ + "/" + name, options);
    PAXOSFS_CHECK_MSG(s.ok(), s.status().ToString().c_str());
    return std::move(*s);
  }
  std::unique_ptr<Store> OpenStore(const std::string& name,
                                   bool read_only = false) {
    StoreOptions o;
    o.read_only = read_only;
    return OpenStore(name, o);
  }
  // A writer that returns at most 16 free pages per commit, however few.
  std::unique_ptr<Store> OpenVacuuming(const std::string& name) {
    StoreOptions o;
    o.vacuum_pages_per_commit = 16;
    o.vacuum_min_free_pages = 1;
    return OpenStore(name, o);
  }
  // A pragma's first value, as text, read from the committed file.
  std::string PragmaText(const std::string& name, const char* pragma) {
    sqlite3* db = nullptr;
    PAXOSFS_CHECK(sqlite3_open((dir_ + "/" + name).c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    PAXOSFS_CHECK(sqlite3_prepare_v2(db, pragma, -1, &st, nullptr) ==
                  SQLITE_OK);
    PAXOSFS_CHECK(sqlite3_step(st) == SQLITE_ROW);
    std::string value(
        reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return value;
  }
  int64_t Pragma(const std::string& name, const char* pragma) {
    return std::stoll(PragmaText(name, pragma));
  }
  // Runs raw SQL on the file behind the store's back.
  void Tamper(const std::string& name, const char* sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ + "/" + name).c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  // A store holding chunk (1, 0) = "kept" at applied index 5, turned back
  // into what format `format` wrote by `undo` (SQL), with that format's meta
  // checksum.
  void MakeOldStore(uint64_t format, const std::string& undo) {
    {
      auto s = OpenStore("a.db");
      ASSERT_TRUE(s->Begin().ok());
      ASSERT_TRUE(s->PutChunk(1, 0, "kept").ok());
      s->SetMeta(Meta{5, 2, 3});
      ASSERT_TRUE(s->Commit().ok());
    }
    Hasher h;
    h.Update("paxosfs-meta");
    for (uint64_t v :
         {format, uint64_t{64 * 1024}, uint64_t{5}, uint64_t{2}, uint64_t{3}}) {
      h.UpdateU64(v);
    }
    std::string sql =
        undo + " UPDATE meta SET format = " + std::to_string(format) +
        ", checksum = " + std::to_string(static_cast<int64_t>(h.Digest()));
    Tamper("a.db", sql.c_str());
  }
  std::string dir_;
};

}  // namespace paxosfs::snapshot::testing
