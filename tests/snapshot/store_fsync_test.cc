// A failed fsync of the store is sticky: after it, the store refuses every
// call, even once fsync works again (Linux may report a failure only once
// and mark the lost pages clean). Fsyncs fail through a SQLite VFS that
// wraps the default one and fails xSync on demand.
#include <sqlite3.h>

#include <atomic>

#include "gtest/gtest.h"
#include "snapshot/store.h"
#include "tests/eventually.h"
#include "tests/snapshot/store_test_util.h"

namespace paxosfs::snapshot {
namespace {

std::atomic<bool> fail_sync{false};
std::atomic<int> syncs{0};
sqlite3_vfs* real_vfs = nullptr;

// Our file: the methods below, then the real VFS's file right after it.
struct WrappedFile {
  sqlite3_file base;
  sqlite3_file* real;
};

sqlite3_file* Real(sqlite3_file* f) {
  return reinterpret_cast<WrappedFile*>(f)->real;
}

const sqlite3_io_methods kMethods = {
    3,
    [](sqlite3_file* f) { return Real(f)->pMethods->xClose(Real(f)); },
    [](sqlite3_file* f, void* b, int n, sqlite3_int64 o) {
      return Real(f)->pMethods->xRead(Real(f), b, n, o);
    },
    [](sqlite3_file* f, const void* b, int n, sqlite3_int64 o) {
      return Real(f)->pMethods->xWrite(Real(f), b, n, o);
    },
    [](sqlite3_file* f, sqlite3_int64 size) {
      return Real(f)->pMethods->xTruncate(Real(f), size);
    },
    [](sqlite3_file* f, int flags) {
      ++syncs;
      if (fail_sync) return SQLITE_IOERR_FSYNC;
      return Real(f)->pMethods->xSync(Real(f), flags);
    },
    [](sqlite3_file* f, sqlite3_int64* size) {
      return Real(f)->pMethods->xFileSize(Real(f), size);
    },
    [](sqlite3_file* f, int l) { return Real(f)->pMethods->xLock(Real(f), l); },
    [](sqlite3_file* f, int l) {
      return Real(f)->pMethods->xUnlock(Real(f), l);
    },
    [](sqlite3_file* f, int* out) {
      return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
    },
    [](sqlite3_file* f, int op, void* arg) {
      return Real(f)->pMethods->xFileControl(Real(f), op, arg);
    },
    [](sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); },
    [](sqlite3_file* f) {
      return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
    },
    [](sqlite3_file* f, int page, int size, int extend, void volatile** out) {
      return Real(f)->pMethods->xShmMap(Real(f), page, size, extend, out);
    },
    [](sqlite3_file* f, int offset, int n, int flags) {
      return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
    },
    [](sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); },
    [](sqlite3_file* f, int del) {
      return Real(f)->pMethods->xShmUnmap(Real(f), del);
    },
    [](sqlite3_file* f, sqlite3_int64 o, int n, void** out) {
      return Real(f)->pMethods->xFetch(Real(f), o, n, out);
    },
    [](sqlite3_file* f, sqlite3_int64 o, void* p) {
      return Real(f)->pMethods->xUnfetch(Real(f), o, p);
    },
};

int WrappedOpen(sqlite3_vfs*, const char* name, sqlite3_file* f, int flags,
                int* out_flags) {
  auto* w = reinterpret_cast<WrappedFile*>(f);
  w->real = reinterpret_cast<sqlite3_file*>(w + 1);
  w->base.pMethods = nullptr;
  int rc = real_vfs->xOpen(real_vfs, name, w->real, flags, out_flags);
  if (w->real->pMethods != nullptr) w->base.pMethods = &kMethods;
  return rc;
}

class StoreFsyncTest : public snapshot::testing::StoreTest {
 protected:
  StoreFsyncTest() {
    real_vfs = sqlite3_vfs_find(nullptr);
    vfs_ = *real_vfs;
    vfs_.zName = "paxosfs-fail-sync";
    vfs_.szOsFile = static_cast<int>(sizeof(WrappedFile)) + real_vfs->szOsFile;
    vfs_.xOpen = WrappedOpen;
    vfs_.pNext = nullptr;
    sqlite3_vfs_register(&vfs_, /*makeDflt=*/1);
  }
  ~StoreFsyncTest() override {
    fail_sync = false;
    sqlite3_vfs_unregister(&vfs_);
    sqlite3_vfs_register(real_vfs, /*makeDflt=*/1);
  }
  Status CommitIndex(Store* store, uint64_t index, bool durable = true) {
    PAXOSFS_RETURN_IF_ERROR(store->Begin(durable));
    Meta meta = store->meta();
    meta.applied_index = index;
    store->SetMeta(meta);
    return store->Commit();
  }
  sqlite3_vfs vfs_;
};

TEST_F(StoreFsyncTest, Commit_FsyncFails_StoreStaysFailedUntilReopened) {
  auto store = Store::Open(dir_ + "/s.db", StoreOptions());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE(CommitIndex(store->get(), 1).ok());

  fail_sync = true;
  Status failed = CommitIndex(store->get(), 2);
  EXPECT_EQ(failed.code(), StatusCode::kIOError) << failed.ToString();
  EXPECT_NE(failed.message().find("restart"), std::string::npos)
      << failed.ToString();

  // fsync works again, but what the failed one covered may be gone: the
  // store must not claim a durable commit.
  fail_sync = false;
  EXPECT_EQ(CommitIndex(store->get(), 2).code(), StatusCode::kIOError);
  EXPECT_EQ(CommitIndex(store->get(), 3).code(), StatusCode::kIOError);

  store->reset();
  auto reopened = Store::Open(dir_ + "/s.db", StoreOptions());
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  uint64_t applied = (*reopened)->meta().applied_index;
  EXPECT_TRUE(applied == 1 || applied == 2) << applied;
  EXPECT_TRUE(CommitIndex(reopened->get(), applied + 1).ok());
}

using ::paxosfs::testing::Eventually;

StoreOptions BackgroundSync() {
  StoreOptions o;
  o.wal_sync_every_ms = 5;
  return o;
}

// Commits that do not fsync become durable through the checkpointer's fsync
// of the WAL, with no durable commit on the writer.
TEST_F(StoreFsyncTest, BackgroundSync_MakesPlainCommitsDurable) {
  auto store = Store::Open(dir_ + "/s.db", BackgroundSync());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->SyncedIndex(), 0u);
  int before = syncs;
  for (uint64_t i = 1; i <= 3; ++i) {
    ASSERT_TRUE(CommitIndex(store->get(), i, /*durable=*/false).ok());
  }
  ASSERT_TRUE(Eventually([&] { return (*store)->SyncedIndex() == 3; }))
      << (*store)->SyncedIndex();
  EXPECT_GT(syncs.load(), before);
}

// A failed background fsync holds the synced index where it was and stops
// the writer at its next transaction, for good.
TEST_F(StoreFsyncTest, BackgroundSyncFails_WriterStopsAndIndexHolds) {
  auto store = Store::Open(dir_ + "/s.db", BackgroundSync());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE(CommitIndex(store->get(), 1, /*durable=*/false).ok());
  ASSERT_TRUE(Eventually([&] { return (*store)->SyncedIndex() == 1; }));

  fail_sync = true;
  ASSERT_TRUE(CommitIndex(store->get(), 2, /*durable=*/false).ok());
  Status failed;
  ASSERT_TRUE(Eventually([&] {
    failed = (*store)->Begin();
    if (failed.ok()) (*store)->Rollback().ok();
    return !failed.ok();
  }));
  EXPECT_EQ(failed.code(), StatusCode::kIOError) << failed.ToString();
  EXPECT_NE(failed.message().find("uncertain"), std::string::npos)
      << failed.ToString();
  EXPECT_EQ((*store)->SyncedIndex(), 1u);

  fail_sync = false;
  EXPECT_EQ(CommitIndex(store->get(), 3, /*durable=*/false).code(),
            StatusCode::kIOError);
  EXPECT_EQ((*store)->SyncedIndex(), 1u);
}

}  // namespace
}  // namespace paxosfs::snapshot
