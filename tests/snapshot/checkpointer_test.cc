// The store's background thread (snapshot/checkpointer.h): copying the
// WAL back, starting its writeback, and its I/O class.
#include "snapshot/checkpointer.h"

#include <linux/ioprio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/eventually.h"
#include "tests/snapshot/store_test_util.h"

namespace paxosfs::snapshot {
namespace {

using ::paxosfs::testing::Eventually;
using testing::CommitChunks;

class CheckpointerTest : public testing::StoreTest {};

TEST_F(CheckpointerTest, Checkpoint_CopiesTheWalBackOffTheWritersThread) {
  StoreOptions o;
  o.checkpoint_wal_bytes = 8 * o.page_size;
  auto store = OpenStore("a.db", o);
  Store& w = *store;
  const std::string db = dir_ + "/a.db";
  const auto before = std::filesystem::file_size(db);
  CommitChunks(w, 0, 8);
  ASSERT_TRUE(Eventually([&] { return w.TEST_checkpoints() > 0; }));
  // The database file itself now holds the chunks, not only the WAL.
  EXPECT_GT(std::filesystem::file_size(db), before + 64 * 1024);
  auto r = OpenStore("a.db", /*read_only=*/true);
  EXPECT_EQ(r->ReadMeta()->applied_index, 8u);
  EXPECT_EQ(*r->Digest(), *w.Digest());
}

TEST_F(CheckpointerTest, Writeback_StartsOnceTheWalGrewByTheStep) {
  StoreOptions o;
  o.wal_writeback_bytes = 16 * o.page_size;
  auto store = OpenStore("a.db", o);
  Store& w = *store;
  EXPECT_EQ(w.TEST_writebacks(), 0u);
  CommitChunks(w, 0, 8);  // At least 32 pages: a 64 KiB chunk spans four.
  EXPECT_TRUE(Eventually([&] { return w.TEST_writebacks() > 0; }));
}

TEST_F(CheckpointerTest, Writeback_CountsTheStepAnewOnceTheWalStartedOver) {
  { auto w = OpenStore("a.db"); }
  auto started = Checkpointer::Start(
      dir_ + "/a.db", {.copy_pages = 1000, .writeback_pages = 32});
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  Checkpointer& c = **started;
  c.WalGrew(40);
  ASSERT_TRUE(Eventually([&] { return c.writebacks() == 1; }));
  // A checkpoint let the writer start the WAL over from its beginning.
  c.WalGrew(10);
  c.WalGrew(33);
  EXPECT_TRUE(Eventually([&] { return c.writebacks() == 2; }));
}

TEST_F(CheckpointerTest, Writeback_NoneWhenTurnedOff) {
  StoreOptions o;
  o.wal_writeback_bytes = 0;
  o.checkpoint_wal_bytes = 8 * o.page_size;
  auto store = OpenStore("a.db", o);
  Store& w = *store;
  CommitChunks(w, 0, 8);
  // The thread has run its loop since: a writeback would have come first.
  ASSERT_TRUE(Eventually([&] { return w.TEST_checkpoints() > 0; }));
  EXPECT_EQ(w.TEST_writebacks(), 0u);
}

TEST_F(CheckpointerTest, Checkpointer_WritesToDiskInTheIdleIoClass) {
  auto w = OpenStore("a.db");
  EXPECT_TRUE(Eventually([] {
    for (const auto& task :
         std::filesystem::directory_iterator("/proc/self/task")) {
      std::ifstream comm(task.path() / "comm");
      std::string name;
      std::getline(comm, name);
      if (name != "checkpoint") continue;
      long tid = std::stol(task.path().filename().string());
      long prio = syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, tid);
      return prio >= 0 && IOPRIO_PRIO_CLASS(prio) == IOPRIO_CLASS_IDLE;
    }
    return false;
  }));
}

TEST_F(CheckpointerTest, Checkpoint_NotBeforeTheTrigger) {
  auto w = OpenStore("a.db");  // Default trigger: 8 MiB of WAL.
  CommitChunks(*w, 0, 1);
  EXPECT_EQ(w->TEST_checkpoints(), 0u);
}

}  // namespace
}  // namespace paxosfs::snapshot
