// FileLog under failing writes, failing fsyncs, crashes and concurrency.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "log_test_util.h"

namespace paxosfs::log {
namespace {

class FileLogFaultsTest : public ::testing::Test {
 protected:
  std::unique_ptr<Log> OpenWithSynced(int n) {
    std::unique_ptr<Log> log = MustOpen(&env_);
    for (int s = 1; s <= n; ++s)
      EXPECT_TRUE(AppendOne(*log, MakeEntry(s)).ok());
    EXPECT_TRUE(log->Sync().ok());
    return log;
  }
  FaultInjectionEnv env_;
};

TEST_F(FileLogFaultsTest, Sync_WriteFailsNoSpace_NoSpaceAndPoisoned) {
  std::unique_ptr<Log> log = OpenWithSynced(2);
  env_.FailNthAppend(1, Status::NoSpace("write: No space left on device"));
  ASSERT_TRUE(AppendOne(*log, MakeEntry(3)).ok());
  EXPECT_EQ(log->Sync().code(), StatusCode::kNoSpace);
  EXPECT_EQ(AppendOne(*log, MakeEntry(4)).code(), StatusCode::kNoSpace);
  EXPECT_EQ(log->Sync().code(), StatusCode::kNoSpace);
  EXPECT_EQ(log->Get(1).status().code(), StatusCode::kNoSpace);
  log.reset();
  log = MustOpen(&env_);  // Space is back: reopening recovers.
  EXPECT_EQ(*log->Get(2), MakeEntry(2));
}

TEST_F(FileLogFaultsTest, Sync_FsyncFails_PoisonsEveryLaterCall) {
  std::unique_ptr<Log> log = OpenWithSynced(2);
  ASSERT_TRUE(AppendOne(*log, MakeEntry(3)).ok());
  env_.FailSyncs(true);
  Status failed = log->Sync();
  EXPECT_EQ(failed.code(), StatusCode::kIOError);
  env_.FailSyncs(false);  // The disk "recovers"; the log must not believe it.
  EXPECT_EQ(log->Sync().code(), StatusCode::kIOError);
  EXPECT_FALSE(AppendOne(*log, MakeEntry(4)).ok());
  EXPECT_FALSE(log->SetMetadata("m").ok());
  EXPECT_FALSE(log->Get(1).ok());
  EXPECT_FALSE(log->TruncatePrefix(2).ok());
  EXPECT_EQ(log->Sync().message(), failed.message());
}

TEST_F(FileLogFaultsTest, Crash_DropsUnsyncedOnly_NoCorruption) {
  std::unique_ptr<Log> log = OpenWithSynced(5);
  for (int s = 6; s <= 8; ++s) ASSERT_TRUE(AppendOne(*log, MakeEntry(s)).ok());
  env_.CrashAfterOps(1);  // The write lands in the page cache; no fsync.
  EXPECT_FALSE(log->Sync().ok());
  log.reset();
  env_.SimulateCrash();
  log = MustOpen(&env_);
  ASSERT_NE(log, nullptr);
  for (int s = 1; s <= 5; ++s) EXPECT_EQ(*log->Get(s), MakeEntry(s));
  for (int s = 6; s <= 8; ++s) {
    EXPECT_EQ(log->Get(s).status().code(), StatusCode::kNotFound);
  }
}

TEST_F(FileLogFaultsTest, Sync_AlreadyCovered_NoFdatasync) {
  std::unique_ptr<Log> log = OpenWithSynced(1);
  int64_t ops = env_.mutating_ops();
  EXPECT_TRUE(log->Sync().ok());
  EXPECT_EQ(env_.mutating_ops(), ops);
}

// Each thread appends its own slots and syncs; after a crash, every record
// whose Sync returned OK must be there, whichever thread's fdatasync
// covered it.
void RunGroupCommit(FaultInjectionEnv* env, int64_t crash_after_ops) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 30;
  std::vector<std::vector<uint64_t>> acked(kThreads);
  {
    std::unique_ptr<Log> log = MustOpen(env, {.segment_bytes_max = 16 << 10});
    if (crash_after_ops > 0) env->CrashAfterOps(crash_after_ops);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          uint64_t slot = 1 + t * 1000 + i;
          if (!AppendOne(*log, MakeEntry(slot, 1, false, 500)).ok()) return;
          if (!log->Sync().ok()) return;
          acked[t].push_back(slot);
        }
      });
    }
    for (std::thread& th : threads) th.join();
  }
  env->SimulateCrash();
  std::unique_ptr<Log> log = MustOpen(env, {.segment_bytes_max = 16 << 10});
  ASSERT_NE(log, nullptr);
  size_t total = 0;
  for (const std::vector<uint64_t>& slots : acked) {
    for (uint64_t slot : slots) {
      StatusOr<Entry> e = log->Get(slot);
      ASSERT_TRUE(e.ok()) << "acked slot " << slot << " lost";
      EXPECT_EQ(*e, MakeEntry(slot, 1, false, 500));
    }
    total += slots.size();
  }
  if (crash_after_ops == 0) {
    EXPECT_EQ(total, size_t{kThreads * kPerThread});
  }
}

TEST(FileLogGroupCommitTest, ConcurrentSyncs_AllAckedSurviveCrash) {
  FaultInjectionEnv env;
  RunGroupCommit(&env, 0);
}

TEST(FileLogGroupCommitTest, ConcurrentSyncs_CrashMidway_AckedSurvive) {
  for (int64_t crash_after : {3, 17, 40, 95, 160}) {
    SCOPED_TRACE(crash_after);
    FaultInjectionEnv env;
    RunGroupCommit(&env, crash_after);
  }
}

TEST(FileLogGroupCommitTest, FsyncFails_EveryWaiterSeesTheError) {
  FaultInjectionEnv env;
  std::unique_ptr<Log> log = MustOpen(&env);
  env.FailSyncs(true);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      if (!AppendOne(*log, MakeEntry(t + 1)).ok() || !log->Sync().ok()) {
        failures.fetch_add(1);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failures.load(), 8);
}

// Readers race writers (who mark half their slots chosen), the sync leader
// and truncation: every Get returns the value written, or NotFound only
// below FirstSlot().
TEST(FileLogConcurrencyTest, GetDuringSyncRollAndTruncate_Consistent) {
  constexpr int kWriters = 4;
  constexpr uint64_t kPerWriter = 150;
  FaultInjectionEnv env;
  std::unique_ptr<Log> log = MustOpen(&env, {.segment_bytes_max = 8 << 10});
  std::vector<std::atomic<uint64_t>> published(kWriters);
  std::atomic<bool> done{false};
  std::atomic<bool> failed{false};
  auto slot_of = [](int t, uint64_t i) { return 1 + t + i * kWriters; };
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t i = 0; i < kPerWriter; ++i) {
        Status s = AppendOne(*log, MakeEntry(slot_of(t, i), 1, false, 700));
        if (s.ok() && i % 3 == 0) s = log->Sync();
        // A chosen mark, which may land in a newer segment than its record.
        if (s.ok() && i % 2 == 0) {
          s = AppendOne(*log, MakeEntry(slot_of(t, i), 1, true, 700));
        }
        if (!s.ok()) {
          ADD_FAILURE() << s.ToString();
          failed.store(true);  // Unblocks the truncating thread.
          return;
        }
        published[t].store(i + 1);
      }
    });
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      for (uint64_t n = r; !done.load(); n += 7) {
        int t = static_cast<int>(n % kWriters);
        uint64_t count = published[t].load();
        if (count == 0) continue;
        uint64_t slot = slot_of(t, n % count);
        StatusOr<Entry> e = log->Get(slot);
        if (e.ok()) {
          ASSERT_EQ(*e, MakeEntry(slot, 1, e->chosen, 700));
        } else {
          ASSERT_EQ(e.status().code(), StatusCode::kNotFound);
          ASSERT_LT(slot, log->FirstSlot());
        }
      }
    });
  }
  threads.emplace_back([&] {
    for (uint64_t first = 50; first <= 400; first += 50) {
      // Truncate only below every writer's next slot.
      for (int t = 0; t < kWriters; ++t) {
        while (slot_of(t, published[t].load()) < first && !failed.load()) {
          std::this_thread::yield();
        }
      }
      ASSERT_TRUE(log->TruncatePrefix(first).ok());
    }
  });
  for (int t = 0; t < kWriters; ++t) threads[t].join();
  threads.back().join();
  done.store(true);
  for (size_t i = kWriters; i + 1 < threads.size(); ++i) threads[i].join();
  ASSERT_TRUE(log->Sync().ok());
  EXPECT_EQ(log->FirstSlot(), 400u);
  EXPECT_EQ(*log->Get(kWriters * kPerWriter),
            MakeEntry(kWriters * kPerWriter, 1, false, 700));
}

}  // namespace
}  // namespace paxosfs::log
