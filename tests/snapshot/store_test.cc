#include "snapshot/store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/checksum.h"
#include "gtest/gtest.h"
#include "tests/snapshot/store_test_util.h"

namespace paxosfs::snapshot {
namespace {

using testing::StoreTest;

TEST_F(StoreTest, Open_CreatesRootAtIndexZero) {
  auto s = OpenStore("a.db");
  EXPECT_EQ(s->meta().applied_index, 0u);
  EXPECT_EQ(s->meta().next_ino, 2u);
  auto root = s->GetInode(1);
  ASSERT_TRUE(root.ok());
  ASSERT_TRUE(root->has_value());
  EXPECT_EQ((*root)->nlink, 2u);
}

TEST_F(StoreTest, Open_ReadOnlyMissingFails) {
  StoreOptions o;
  o.read_only = true;
  EXPECT_EQ(Store::Open(dir_ + "/none.db", o).status().code(),
            StatusCode::kNotFound);
}

TEST_F(StoreTest, Commit_MetaAtomicWithRows) {
  auto s = OpenStore("a.db");
  ASSERT_TRUE(s->Begin().ok());
  InodeRow r;
  r.ino = 2;
  r.mode = 0100644;
  ASSERT_TRUE(s->PutInode(r).ok());
  s->SetMeta(Meta{7, 3, 3});
  ASSERT_TRUE(s->Commit().ok());
  ASSERT_TRUE(s->Begin().ok());
  r.ino = 3;
  ASSERT_TRUE(s->PutInode(r).ok());
  s->SetMeta(Meta{8, 4, 3});
  s->TEST_Abandon();  // Crash before commit: slot 8 must vanish whole.
  auto again = OpenStore("a.db");
  EXPECT_EQ(again->meta().applied_index, 7u);
  EXPECT_TRUE(again->GetInode(2)->has_value());
  EXPECT_FALSE(again->GetInode(3)->has_value());
}

TEST_F(StoreTest, Open_HalfCreatedStoreStartsAfresh) {
  // What a crash between switching to WAL and committing the schema leaves.
  Tamper("h.db", "PRAGMA journal_mode=WAL");
  auto s = OpenStore("h.db");
  EXPECT_EQ(s->meta().applied_index, 0u);
  EXPECT_TRUE(s->GetInode(1)->has_value());
}

TEST_F(StoreTest, Open_MetaChecksumMismatchIsCorruption) {
  { OpenStore("a.db"); }
  Tamper("a.db", "UPDATE meta SET applied_index = 99");
  auto s = Store::Open(dir_ + "/a.db", StoreOptions());
  ASSERT_EQ(s.status().code(), StatusCode::kCorruption);
  EXPECT_NE(s.status().message().find("must not be served"), std::string::npos)
      << s.status().ToString();
}

TEST_F(StoreTest, Open_GarbageFileIsCorruption) {
  std::ofstream(dir_ + "/g.db") << std::string(8192, 'z');
  auto s = Store::Open(dir_ + "/g.db", StoreOptions());
  EXPECT_EQ(s.status().code(), StatusCode::kCorruption)
      << s.status().ToString();
}

TEST_F(StoreTest, Open_DamagedPageIsCorruption) {
  {
    auto s = OpenStore("a.db");
    ASSERT_TRUE(s->Begin().ok());
    for (uint64_t i = 0; i < 200; ++i) {
      ASSERT_TRUE(s->PutChunk(2, i, std::string(3000, 'c')).ok());
      InodeRow r;
      r.ino = 10 + i;
      ASSERT_TRUE(s->PutInode(r).ok());
    }
    ASSERT_TRUE(s->Commit().ok());
  }  // The last connection closing folds the WAL into the file.
  // Scribble over pages 2-4 (schema and table roots live at the front).
  int fd = ::open((dir_ + "/a.db").c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  std::string junk(3 * 4096, '\x5a');
  ASSERT_EQ(::pwrite(fd, junk.data(), junk.size(), 4096), ssize_t(junk.size()));
  ::close(fd);
  auto s = Store::Open(dir_ + "/a.db", StoreOptions());
  EXPECT_EQ(s.status().code(), StatusCode::kCorruption)
      << s.status().ToString();
}

TEST_F(StoreTest, Read_DamagedUnderAnOpenReader_ToldOnceAndSticky) {
  {
    auto s = OpenStore("a.db");
    ASSERT_TRUE(s->Begin().ok());
    for (uint64_t i = 0; i < 200; ++i) {
      ASSERT_TRUE(s->PutChunk(2, i, std::string(3000, 'c')).ok());
    }
    ASSERT_TRUE(s->Commit().ok());
  }
  int told = 0;
  StoreOptions o;
  o.read_only = true;
  o.on_corruption = [&told](const Status& why) {
    EXPECT_EQ(why.code(), StatusCode::kCorruption);
    ++told;
  };
  auto reader = Store::Open(dir_ + "/a.db", o);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  // Every page but the header, as a disk going bad under a running node.
  int fd = ::open((dir_ + "/a.db").c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  off_t size = ::lseek(fd, 0, SEEK_END);
  const off_t page = 16 * 1024;
  ASSERT_GT(size, 2 * page);
  std::string junk(size - page, '\xff');
  ASSERT_EQ(::pwrite(fd, junk.data(), junk.size(), page), ssize_t(junk.size()));
  ::close(fd);
  auto chunk = (*reader)->GetChunk(2, 150);
  EXPECT_EQ(chunk.status().code(), StatusCode::kCorruption)
      << chunk.status().ToString();
  EXPECT_EQ(told, 1);
  EXPECT_EQ((*reader)->GetChunk(2, 3).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(told, 1) << "told once, not at every call";
}

TEST_F(StoreTest, Open_ChunkSizeMismatchRefused) {
  { OpenStore("a.db"); }
  StoreOptions o;
  o.chunk_size = 4096;
  EXPECT_EQ(Store::Open(dir_ + "/a.db", o).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, Chunks_DeleteFromReportsFreedBytes) {
  auto s = OpenStore("a.db");
  ASSERT_TRUE(s->Begin().ok());
  ASSERT_TRUE(s->PutChunk(2, 0, std::string(100, 'a')).ok());
  ASSERT_TRUE(s->PutChunk(2, 5, std::string(10, 'b')).ok());
  ASSERT_TRUE(s->PutChunk(2, 9, std::string(1, 'c')).ok());
  EXPECT_EQ(s->GetChunks(2, 1, 9)->size(), 2u);
  EXPECT_EQ(*s->DeleteChunksFrom(2, 5), 11u);
  EXPECT_FALSE(s->GetChunk(2, 5)->has_value());
  EXPECT_EQ(**s->GetChunk(2, 0), std::string(100, 'a'));
  ASSERT_TRUE(s->Commit().ok());
}

TEST_F(StoreTest, Garbage_FreedInBoundedBatchesInKeyOrder) {
  auto s = OpenStore("a.db");
  ASSERT_TRUE(s->Begin().ok());
  for (uint64_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(s->PutChunk(7, i, std::string(10, 'a')).ok());
    ASSERT_TRUE(s->PutChunk(9, i, std::string(20, 'b')).ok());
  }
  ASSERT_TRUE(s->AddGarbage(9, 100).ok());
  ASSERT_TRUE(s->AddGarbage(7, 50).ok());
  EXPECT_EQ(*s->TotalStoredBytes(), 150u);
  EXPECT_TRUE(*s->FreeGarbage(3));  // Key 7, chunks 0-2.
  EXPECT_EQ(*s->TotalStoredBytes(), 120u);
  EXPECT_FALSE(s->GetChunk(7, 2)->has_value());
  EXPECT_TRUE(s->GetChunk(7, 3)->has_value());
  EXPECT_TRUE(*s->FreeGarbage(3));  // Key 7's last two, then key 9's 0.
  EXPECT_EQ(*s->TotalStoredBytes(), 80u);
  EXPECT_FALSE(s->GetChunk(9, 0)->has_value());
  EXPECT_TRUE(s->GetChunk(9, 1)->has_value());
  EXPECT_FALSE(*s->FreeGarbage(10));
  EXPECT_FALSE(*s->HasGarbage());
  EXPECT_EQ(*s->TotalStoredBytes(), 0u);
  EXPECT_TRUE(s->GetChunks(9, 0, 10)->empty());
  ASSERT_TRUE(s->Commit().ok());
}

TEST_F(StoreTest, Open_UpgradesFormat1KeepingRows) {
  // Format 1: no inodes.data, no garbage or data_keys table (nor orphans).
  ASSERT_NO_FATAL_FAILURE(
      MakeOldStore(1,
                   "ALTER TABLE inodes DROP COLUMN data; DROP TABLE garbage;"
                   " DROP TABLE data_keys; DROP TABLE orphans;"));
  auto s = OpenStore("a.db");
  EXPECT_EQ(s->meta().applied_index, 5u);
  EXPECT_EQ(**s->GetChunk(1, 0), "kept");
  auto root = s->GetInode(1);
  ASSERT_TRUE(root.ok() && root->has_value());
  EXPECT_EQ((*root)->data_key(), 1u);
  EXPECT_FALSE(*s->HasGarbage());
  s.reset();
  EXPECT_EQ(OpenStore("a.db", /*read_only=*/true)->meta().applied_index, 5u);
}

TEST_F(StoreTest, Open_UpgradesFormat2AddingOrphans) {
  ASSERT_NO_FATAL_FAILURE(MakeOldStore(2, "DROP TABLE orphans;"));
  auto s = OpenStore("a.db");
  EXPECT_EQ(**s->GetChunk(1, 0), "kept");
  ASSERT_TRUE(s->Begin().ok());
  ASSERT_TRUE(s->PutOrphan({7, 2, 100}).ok());
  s->SetMeta(Meta{6, 8, 3});
  ASSERT_TRUE(s->Commit().ok());
  auto orphan = s->GetOrphan(7);
  ASSERT_TRUE(orphan.ok() && orphan->has_value());
  EXPECT_EQ((*orphan)->node, 2u);
  EXPECT_EQ((*orphan)->boot, 100u);
  EXPECT_EQ(*s->StaleOrphans(2, 101), std::vector<uint64_t>{7});
  EXPECT_TRUE(s->StaleOrphans(2, 100)->empty()) << "only earlier processes'";
  EXPECT_TRUE(s->StaleOrphans(3, 101)->empty()) << "only the node's own";
}

TEST_F(StoreTest, Digest_IndependentOfInsertionOrder) {
  auto a = OpenStore("a.db");
  auto b = OpenStore("b.db");
  auto put = [](Store& s, int ino) {
    InodeRow r;
    r.ino = ino;
    r.mode = 0100600;
    ASSERT_TRUE(s.PutInode(r).ok());
    ASSERT_TRUE(s.PutDentry(1, DentryRow{"n" + std::to_string(ino),
                                         uint64_t(ino), 0100000, uint64_t(ino)})
                    .ok());
    ASSERT_TRUE(s.PutXattr(ino, "user.x", "v").ok());
  };
  ASSERT_TRUE(a->Begin().ok());
  ASSERT_TRUE(b->Begin().ok());
  for (int i = 2; i < 50; ++i) put(*a, i);
  for (int i = 49; i >= 2; --i) put(*b, i);
  ASSERT_TRUE(a->Commit().ok());
  ASSERT_TRUE(b->Commit().ok());
  EXPECT_EQ(*a->Digest(), *b->Digest());
  ASSERT_TRUE(b->Begin().ok());
  ASSERT_TRUE(b->PutXattr(7, "user.x", "w").ok());
  ASSERT_TRUE(b->Commit().ok());
  EXPECT_NE(*a->Digest(), *b->Digest());
}

TEST_F(StoreTest, Reader_SeesOnlyCommitted) {
  auto w = OpenStore("a.db");
  auto r = OpenStore("a.db", /*read_only=*/true);
  ASSERT_TRUE(w->Begin().ok());
  ASSERT_TRUE(w->PutXattr(1, "user.a", "1").ok());
  EXPECT_FALSE(r->GetXattr(1, "user.a")->has_value());
  w->SetMeta(Meta{1, 2, 3});
  ASSERT_TRUE(w->Commit().ok());
  EXPECT_TRUE(r->GetXattr(1, "user.a")->has_value());
  EXPECT_EQ(r->ReadMeta()->applied_index, 1u);
  EXPECT_EQ(*r->Digest(), *w->Digest());
}

TEST_F(StoreTest, Open_NewStoreUsesTheConfiguredPageSize) {
  { auto w = OpenStore("a.db"); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/a.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &st, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 16 * 1024);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST_F(StoreTest, OverwriteChunk_InPlaceOnlyWithinTheChunk) {
  auto w = OpenStore("a.db");
  ASSERT_TRUE(w->Begin().ok());
  ASSERT_TRUE(w->PutChunk(2, 0, std::string(8192, 'a')).ok());
  EXPECT_TRUE(*w->OverwriteChunk(2, 0, 4096, "bbbb"));
  EXPECT_FALSE(*w->OverwriteChunk(2, 0, 8190, "cccc"));  // Past its end.
  EXPECT_FALSE(*w->OverwriteChunk(2, 1, 0, "dddd"));     // No such chunk.
  w->SetMeta(Meta{1, 3, 3});
  ASSERT_TRUE(w->Commit().ok());
  std::string expected(8192, 'a');
  expected.replace(4096, 4, "bbbb");
  EXPECT_EQ(**w->GetChunk(2, 0), expected);
  EXPECT_FALSE(w->GetChunk(2, 1)->has_value());
  // The same state written whole digests the same.
  auto other = OpenStore("b.db");
  ASSERT_TRUE(other->Begin().ok());
  ASSERT_TRUE(other->PutChunk(2, 0, expected).ok());
  other->SetMeta(Meta{1, 3, 3});
  ASSERT_TRUE(other->Commit().ok());
  EXPECT_EQ(*w->Digest(), *other->Digest());
}

// Writes 40 chunks of 64 KiB for key 2 and then for key 3, so that key 2's
// pages lie before key 3's.
void WriteTwoFiles(Store& w) {
  ASSERT_TRUE(w.Begin().ok());
  for (uint64_t key : {2, 3}) {
    for (uint64_t i = 0; i < 40; ++i) {
      ASSERT_TRUE(
          w.PutChunk(key, i, std::string(64 * 1024, static_cast<char>('a' + i)))
              .ok());
    }
  }
  w.SetMeta(Meta{1, 4, 3});
  ASSERT_TRUE(w.Commit().ok());
}

// A commit that changes nothing but the applied index.
void CommitNothing(Store& w, uint64_t index) {
  ASSERT_TRUE(w.Begin().ok());
  w.SetMeta(Meta{index, 4, 3});
  ASSERT_TRUE(w.Commit().ok());
}

// Removes key 2's chunks from `first` on, in a transaction applying `slot`.
void RemoveFromTheFirst(Store& w, uint64_t first, uint64_t slot) {
  ASSERT_TRUE(w.Begin().ok());
  ASSERT_TRUE(w.DeleteChunksFrom(2, first).ok());
  w.SetMeta(Meta{slot, 4, 3});
  ASSERT_TRUE(w.Commit().ok());
}
void RemoveTheFirst(Store& w) { RemoveFromTheFirst(w, 0, 2); }

TEST_F(StoreTest, Vacuum_EachCommitReturnsABoundedNumberOfFreePages) {
  auto opened = OpenVacuuming("a.db");
  Store& w = *opened;
  EXPECT_EQ(Pragma("a.db", "PRAGMA auto_vacuum"), 2);  // INCREMENTAL.
  WriteTwoFiles(w);
  const int64_t pages_with_both = Pragma("a.db", "PRAGMA page_count");
  ASSERT_EQ(Pragma("a.db", "PRAGMA freelist_count"), 0);
  RemoveTheFirst(w);
  // Key 2's 160 overflow pages (and a few leaves) were freed; the removal's
  // own transaction returned none (it vacuumed at its start).
  int64_t free_pages = Pragma("a.db", "PRAGMA freelist_count");
  ASSERT_GE(free_pages, 160);
  EXPECT_EQ(Pragma("a.db", "PRAGMA page_count"), pages_with_both);
  uint64_t index = 2;
  while (free_pages > 0) {
    CommitNothing(w, ++index);
    int64_t now = Pragma("a.db", "PRAGMA freelist_count");
    ASSERT_EQ(now, std::max<int64_t>(0, free_pages - 16));
    free_pages = now;
  }
  // Key 3's pages moved into the holes and the file shrank by key 2's size.
  EXPECT_LE(Pragma("a.db", "PRAGMA page_count"), pages_with_both - 160);
  for (uint64_t i = 0; i < 40; ++i) {
    EXPECT_EQ(**w.GetChunk(3, i),
              std::string(64 * 1024, static_cast<char>('a' + i)));
  }
  EXPECT_TRUE(w.GetChunks(2, 0, 40)->empty());
  EXPECT_EQ(PragmaText("a.db", "PRAGMA quick_check"), "ok");
}

TEST_F(StoreTest, Vacuum_NotWhileGarbageWaits) {
  auto opened = OpenVacuuming("a.db");
  Store& w = *opened;
  WriteTwoFiles(w);
  // Key 3's chunks become garbage and are freed in two batches; while its
  // second half waits, the pages of the first half stay free.
  ASSERT_TRUE(w.Begin().ok());
  ASSERT_TRUE(w.AddGarbage(3, 40 * 64 * 1024).ok());
  EXPECT_TRUE(*w.FreeGarbage(20));
  w.SetMeta(Meta{2, 4, 3});
  ASSERT_TRUE(w.Commit().ok());
  const int64_t free_pages = Pragma("a.db", "PRAGMA freelist_count");
  EXPECT_GE(free_pages, 80);
  CommitNothing(w, 3);
  EXPECT_EQ(Pragma("a.db", "PRAGMA freelist_count"), free_pages);
  // The last batch: no garbage is left, so the next transaction returns 16
  // pages.
  ASSERT_TRUE(w.Begin().ok());
  EXPECT_FALSE(*w.FreeGarbage(40));
  w.SetMeta(Meta{4, 4, 3});
  ASSERT_TRUE(w.Commit().ok());
  const int64_t after = Pragma("a.db", "PRAGMA freelist_count");
  EXPECT_GE(after, free_pages + 80);
  CommitNothing(w, 5);
  EXPECT_EQ(Pragma("a.db", "PRAGMA freelist_count"), after - 16);
}

TEST_F(StoreTest, Vacuum_PausedForTheTransactionAfterOneThatFailed) {
  auto opened = OpenVacuuming("a.db");
  Store& w = *opened;
  WriteTwoFiles(w);
  RemoveTheFirst(w);
  const int64_t free_pages = Pragma("a.db", "PRAGMA freelist_count");
  ASSERT_GT(free_pages, 32);
  // A failed slot is rolled back and retried: the retry does no vacuum.
  ASSERT_TRUE(w.Begin().ok());
  ASSERT_TRUE(w.Rollback().ok());
  CommitNothing(w, 3);
  EXPECT_EQ(Pragma("a.db", "PRAGMA freelist_count"), free_pages);
  CommitNothing(w, 4);
  EXPECT_EQ(Pragma("a.db", "PRAGMA freelist_count"), free_pages - 16);
}

TEST_F(StoreTest, Tidy_ReturnsFreePagesUntilNoneAreLeft) {
  auto opened = OpenVacuuming("a.db");
  Store& w = *opened;
  EXPECT_FALSE(*w.Tidy());  // Nothing to return.
  WriteTwoFiles(w);
  const int64_t pages_with_both = Pragma("a.db", "PRAGMA page_count");
  RemoveTheFirst(w);
  const int64_t free_pages = Pragma("a.db", "PRAGMA freelist_count");
  int calls = 1;
  while (*w.Tidy()) ++calls;
  EXPECT_EQ(calls, (free_pages + 15) / 16);
  EXPECT_EQ(Pragma("a.db", "PRAGMA freelist_count"), 0);
  EXPECT_EQ(Pragma("a.db", "PRAGMA page_count"), pages_with_both - free_pages);
  EXPECT_EQ(w.meta().applied_index, 2u);
  EXPECT_EQ(**w.GetChunk(3, 39), std::string(64 * 1024, 'a' + 39));
}

TEST_F(StoreTest, Vacuum_NotForAFewFreePages) {
  StoreOptions o;
  o.vacuum_pages_per_commit = 16;
  o.vacuum_min_free_pages = 30;
  auto w = OpenStore("a.db", o);
  WriteTwoFiles(*w);
  // Key 2's first 6 chunks free 24 overflow pages: below the threshold.
  RemoveFromTheFirst(*w, 34, 2);
  const int64_t few = Pragma("a.db", "PRAGMA freelist_count");
  ASSERT_GE(few, 24);
  ASSERT_LT(few, 30);
  CommitNothing(*w, 3);
  EXPECT_EQ(Pragma("a.db", "PRAGMA freelist_count"), few);
  EXPECT_FALSE(*w->Tidy());
  // Two more chunks cross it: the next transaction returns 16.
  RemoveFromTheFirst(*w, 32, 4);
  const int64_t more = Pragma("a.db", "PRAGMA freelist_count");
  ASSERT_GE(more, 30);
  CommitNothing(*w, 5);
  EXPECT_EQ(Pragma("a.db", "PRAGMA freelist_count"), more - 16);
}

TEST_F(StoreTest, Vacuum_AStoreCreatedWithoutAutoVacuumOpensAndKeepsItsPages) {
  { auto w = OpenStore("a.db"); }
  Tamper("a.db", "PRAGMA auto_vacuum=NONE; VACUUM;");
  ASSERT_EQ(Pragma("a.db", "PRAGMA auto_vacuum"), 0);
  auto w = OpenStore("a.db");
  WriteTwoFiles(*w);
  RemoveTheFirst(*w);
  const int64_t free_pages = Pragma("a.db", "PRAGMA freelist_count");
  EXPECT_GE(free_pages, 160);
  CommitNothing(*w, 3);
  EXPECT_EQ(Pragma("a.db", "PRAGMA freelist_count"), free_pages);
  EXPECT_EQ(Pragma("a.db", "PRAGMA auto_vacuum"), 0);
}

}  // namespace
}  // namespace paxosfs::snapshot
