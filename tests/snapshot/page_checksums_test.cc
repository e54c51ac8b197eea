// Page checksums under the store: damage inside a page that SQLite itself
// would read as valid (a byte of file data, a page landing in another
// page's place) is corruption, never data.
#include "snapshot/page_checksums.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "tests/snapshot/store_test_util.h"

namespace paxosfs::snapshot {
namespace {

using testing::StoreTest;

constexpr size_t kPage = 16 * 1024;

class PageChecksumsTest : public StoreTest {
 protected:
  std::string FileBytes(const std::string& name) {
    std::ifstream in(dir_ + "/" + name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  void WriteAt(const std::string& name, off_t offset, const std::string& b) {
    int fd = ::open((dir_ + "/" + name).c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, b.data(), b.size(), offset), ssize_t(b.size()));
    ::close(fd);
  }
  // Commits one 64 KiB chunk per letter to key 2 (chunk i holds letter i)
  // and closes the store: the last connection folds the WAL into the file.
  void WriteChunks(const std::string& name, const std::string& letters) {
    auto w = OpenStore(name);
    ASSERT_TRUE(w->Begin().ok());
    for (size_t i = 0; i < letters.size(); ++i) {
      ASSERT_TRUE(w->PutChunk(2, i, std::string(64 * 1024, letters[i])).ok());
    }
    w->SetMeta(Meta{1, 3, 3});
    ASSERT_TRUE(w->Commit().ok());
  }
  // The offset of the first overflow page of `name` filled with `letter`
  // (after its 4-byte pointer to the next page).
  off_t PageOf(const std::string& name, char letter) {
    std::string bytes = FileBytes(name);
    std::string run(kPage - kPageChecksumBytes - 4, letter);
    for (size_t at = 0; at + kPage <= bytes.size(); at += kPage) {
      if (bytes.compare(at + 4, run.size(), run) == 0) return at;
    }
    ADD_FAILURE() << "no page of '" << letter << "' in " << name;
    return 0;
  }
  StatusOr<std::unique_ptr<Store>> Reopen(const std::string& name,
                                          bool check_on_open) {
    StoreOptions o;
    o.check_on_open = check_on_open;
    return Store::Open(dir_ + "/" + name, o);
  }
};

TEST_F(PageChecksumsTest, NewStore_ReservesThemAndKeepsItsPageSize) {
  { auto w = OpenStore("a.db"); }
  EXPECT_TRUE(*HasPageChecksums(dir_ + "/a.db"));
  EXPECT_EQ(Pragma("a.db", "PRAGMA page_size"), int64_t(kPage));
  EXPECT_EQ(PragmaText("a.db", "PRAGMA quick_check"), "ok");
}

TEST_F(PageChecksumsTest, FlippedByteOfFileData_ReadIsCorruptionNotData) {
  WriteChunks("a.db", "pq");
  off_t page = PageOf("a.db", 'q');
  WriteAt("a.db", page + 100, "Q");  // SQLite alone would return it as data.
  auto s = Reopen("a.db", /*check_on_open=*/false);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(**(*s)->GetChunk(2, 0), std::string(64 * 1024, 'p'));
  auto damaged = (*s)->GetChunk(2, 1);
  ASSERT_EQ(damaged.status().code(), StatusCode::kCorruption)
      << damaged.status().ToString();
  EXPECT_NE(damaged.status().message().find(
                "page " + std::to_string(page / kPage + 1) + " of "),
            std::string::npos)
      << damaged.status().ToString();
  EXPECT_NE(damaged.status().message().find("checksum mismatch"),
            std::string::npos);
  EXPECT_NE(damaged.status().message().find("rebuild"), std::string::npos);
}

TEST_F(PageChecksumsTest, FlippedByteOfFileData_OpenWithCheckRefusesStore) {
  WriteChunks("a.db", "pq");
  WriteAt("a.db", PageOf("a.db", 'q') + 100, "Q");
  auto s = Reopen("a.db", /*check_on_open=*/true);
  EXPECT_EQ(s.status().code(), StatusCode::kCorruption)
      << s.status().ToString();
}

TEST_F(PageChecksumsTest, PageWrittenInAnotherPagesPlace_IsCaught) {
  WriteChunks("a.db", "pq");
  // A whole, self-consistent page, only in the wrong place.
  std::string p_page = FileBytes("a.db").substr(PageOf("a.db", 'p'), kPage);
  WriteAt("a.db", PageOf("a.db", 'q'), p_page);
  auto s = Reopen("a.db", /*check_on_open=*/false);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->GetChunk(2, 1).status().code(), StatusCode::kCorruption);
}

TEST_F(PageChecksumsTest, DamageIsStillFoundAfterTheStoreIsWrittenAgain) {
  WriteChunks("a.db", "pq");
  WriteAt("a.db", PageOf("a.db", 'q') + 100, "Q");
  {
    auto w = Reopen("a.db", /*check_on_open=*/false);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Begin().ok());
    ASSERT_TRUE((*w)->PutChunk(2, 2, "r").ok());
    (*w)->SetMeta(Meta{2, 3, 3});
    ASSERT_TRUE((*w)->Commit().ok());
  }  // The checkpoint rewrites only the pages the commit changed.
  auto s = Reopen("a.db", /*check_on_open=*/false);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(**(*s)->GetChunk(2, 2), "r");
  EXPECT_EQ((*s)->GetChunk(2, 1).status().code(), StatusCode::kCorruption);
}

TEST_F(PageChecksumsTest, StoreCreatedWithoutThem_OpensAndIsNotChecked) {
  {
    // A store file begun by an earlier version: pages reserve nothing.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ + "/a.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(
        sqlite3_exec(
            db, "PRAGMA page_size=16384; CREATE TABLE old(x); DROP TABLE old;",
            nullptr, nullptr, nullptr),
        SQLITE_OK);
    sqlite3_close(db);
  }
  WriteChunks("a.db", "pq");
  EXPECT_FALSE(*HasPageChecksums(dir_ + "/a.db"));
  auto s = Reopen("a.db", /*check_on_open=*/true);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(**(*s)->GetChunk(2, 1), std::string(64 * 1024, 'q'));
}

}  // namespace
}  // namespace paxosfs::snapshot
