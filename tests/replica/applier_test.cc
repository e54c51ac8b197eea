#include "replica/applier.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace paxosfs::replica {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Records what it applies and the size of each batch; can be told to fail,
// as a full disk would, from some slot on, and to hold a batch until
// released.
class FakeStateMachine : public StateMachine {
 public:
  BatchResult ApplyBatch(
      uint64_t first_slot,
      const std::vector<const std::vector<std::string>*>& slots) override {
    {
      std::unique_lock<std::mutex> lock(mu_);
      batches_.push_back(slots.size());
      gate_cv_.wait(lock, [this] { return !held_; });
    }
    return StateMachine::ApplyBatch(first_slot, slots);
  }
  StatusOr<std::vector<std::string>> Apply(
      uint64_t slot, const std::vector<std::string>& commands) override {
    std::lock_guard<std::mutex> lock(mu_);
    EXPECT_EQ(slot, applied_ + 1);
    if (fail_ && slot >= fail_from_) return Status::NoSpace("disk full");
    applied_ = slot;
    std::vector<std::string> results;
    for (const std::string& c : commands) {
      log_ += c + ";";
      results.push_back("ok:" + c);
    }
    return results;
  }
  uint64_t AppliedIndex() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return applied_;
  }
  // Durable only through Checkpoint, as a store that fsyncs in batches.
  uint64_t DurableIndex() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return durable_;
  }
  Status Checkpoint() override {
    std::lock_guard<std::mutex> lock(mu_);
    durable_ = applied_;
    return Status::Ok();
  }

  // Says more remains for the first `more` calls; records when each call
  // came and whether every applied slot was durable then.
  StatusOr<bool> Tidy() override {
    std::lock_guard<std::mutex> lock(mu_);
    tidy_calls_.push_back(std::chrono::steady_clock::now());
    if (durable_ != applied_) tidy_before_durable_ = true;
    if (tidy_more_ == 0) return false;
    --tidy_more_;
    return true;
  }
  void SetTidyMore(int more) {
    std::lock_guard<std::mutex> lock(mu_);
    tidy_more_ = more;
  }
  std::vector<std::chrono::steady_clock::time_point> tidy_calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return tidy_calls_;
  }
  bool tidy_before_durable() {
    std::lock_guard<std::mutex> lock(mu_);
    return tidy_before_durable_;
  }

  void SetFail(bool fail, uint64_t from_slot = 0) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = fail;
    fail_from_ = from_slot;
  }
  // While held, a batch waits before applying anything.
  void Hold(bool held) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      held_ = held;
    }
    gate_cv_.notify_all();
  }
  std::vector<size_t> batches() {
    std::lock_guard<std::mutex> lock(mu_);
    return batches_;
  }
  std::string log() {
    std::lock_guard<std::mutex> lock(mu_);
    return log_;
  }

 private:
  mutable std::mutex mu_;
  uint64_t applied_ = 0;
  uint64_t durable_ = 0;
  bool fail_ = false;
  uint64_t fail_from_ = 0;
  bool held_ = false;
  int tidy_more_ = 0;
  bool tidy_before_durable_ = false;
  std::vector<std::chrono::steady_clock::time_point> tidy_calls_;
  std::condition_variable gate_cv_;
  std::vector<size_t> batches_;
  std::string log_;
};

// Waits until the state machine has been handed `n` batches.
bool WaitBatches(FakeStateMachine& sm, size_t n) {
  auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (sm.batches().size() < n) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

TEST(ApplierTest, Push_AppliesInOrderAndCallsHook) {
  FakeStateMachine sm;
  std::vector<std::string> seen;
  std::mutex mu;
  Applier applier(&sm, Applier::Options(),
                  [&](uint64_t slot, const std::vector<std::string>&,
                      const std::vector<std::string>& results) {
                    std::lock_guard<std::mutex> lock(mu);
                    for (const auto& r : results) {
                      seen.push_back(std::to_string(slot) + "=" + r);
                    }
                  });
  applier.Push(1, {"a", "b"});
  applier.Push(2, {});
  applier.Push(3, {"c"});
  ASSERT_TRUE(applier.WaitApplied(3, seconds(10)));
  EXPECT_EQ(sm.log(), "a;b;c;");
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{"1=ok:a", "1=ok:b", "3=ok:c"}));
}

TEST(ApplierTest, ApplyError_RetriesSameSlotNeverSkips) {
  FakeStateMachine sm;
  Applier::Options options;
  options.retry_ms = 5;
  Applier applier(&sm, options, [](auto, const auto&, const auto&) {});
  sm.SetFail(true);
  applier.Push(1, {"x"});
  applier.Push(2, {"y"});
  EXPECT_FALSE(applier.WaitApplied(1, milliseconds(50)));
  EXPECT_EQ(applier.error().code(), StatusCode::kNoSpace);
  sm.SetFail(false);
  ASSERT_TRUE(applier.WaitApplied(2, seconds(10)));
  EXPECT_TRUE(applier.error().ok());
  EXPECT_EQ(sm.log(), "x;y;");
}

TEST(ApplierTest, QueuedSlots_AppliedAsBoundedBatchesThenReported) {
  FakeStateMachine sm;
  Applier::Options options;
  options.batch_slots_max = 4;
  options.batch_bytes_max = 1 << 20;
  std::mutex mu;
  std::vector<uint64_t> reported;
  Applier applier(&sm, options,
                  [&](uint64_t slot, const std::vector<std::string>&,
                      const std::vector<std::string>&) {
                    std::lock_guard<std::mutex> lock(mu);
                    reported.push_back(slot);
                  });
  sm.Hold(true);
  applier.Push(1, {"a"});
  ASSERT_TRUE(WaitBatches(sm, 1));
  // Slot 1 is being applied: the next ten queue up behind it.
  for (uint64_t s = 2; s <= 11; ++s) applier.Push(s, {"c" + std::to_string(s)});
  EXPECT_FALSE(applier.WaitApplied(1, milliseconds(20)));
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_TRUE(reported.empty()) << "reported before its batch was applied";
  }
  sm.Hold(false);
  ASSERT_TRUE(applier.WaitApplied(11, seconds(10)));
  EXPECT_EQ(sm.batches(), (std::vector<size_t>{1, 4, 4, 2}));
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(reported,
            (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));
}

TEST(ApplierTest, Batch_ByteBoundSplitsButABigSlotGoesAlone) {
  FakeStateMachine sm;
  Applier::Options options;
  options.batch_bytes_max = 10;
  Applier applier(&sm, options, [](auto, const auto&, const auto&) {});
  sm.Hold(true);
  applier.Push(1, {"a"});
  ASSERT_TRUE(WaitBatches(sm, 1));
  applier.Push(2, {"xxxxxx"});
  applier.Push(3, {"yyyyyy"});  // 12 bytes with slot 2: its own batch.
  applier.Push(4, {std::string(50, 'z')});  // Over the bound: alone.
  applier.Push(5, {"w"});
  sm.Hold(false);
  ASSERT_TRUE(applier.WaitApplied(5, seconds(10)));
  EXPECT_EQ(sm.batches(), (std::vector<size_t>{1, 1, 1, 1, 1}));
}

TEST(ApplierTest, BatchError_ReportsAppliedPrefixRetriesTheRest) {
  FakeStateMachine sm;
  Applier::Options options;
  options.retry_ms = 5;
  std::atomic<uint64_t> last_reported{0};
  Applier applier(&sm, options, [&](uint64_t slot, const auto&, const auto&) {
    last_reported = slot;
  });
  sm.Hold(true);
  applier.Push(1, {"a"});
  ASSERT_TRUE(WaitBatches(sm, 1));
  applier.Push(2, {"b"});
  applier.Push(3, {"c"});
  applier.Push(4, {"d"});
  sm.SetFail(true, /*from_slot=*/3);
  sm.Hold(false);
  ASSERT_TRUE(applier.WaitApplied(2, seconds(10)));
  EXPECT_FALSE(applier.WaitApplied(3, milliseconds(50)));
  EXPECT_EQ(applier.applied_index(), 2u);
  EXPECT_EQ(last_reported.load(), 2u);
  EXPECT_EQ(applier.error().code(), StatusCode::kNoSpace);
  sm.SetFail(false);
  ASSERT_TRUE(applier.WaitApplied(4, seconds(10)));
  EXPECT_TRUE(applier.error().ok());
  EXPECT_EQ(sm.log(), "a;b;c;d;");
  EXPECT_EQ(last_reported.load(), 4u);
}

TEST(ApplierTest, WaitApplied_TimesOut) {
  FakeStateMachine sm;
  Applier applier(&sm, Applier::Options(),
                  [](auto, const auto&, const auto&) {});
  EXPECT_FALSE(applier.WaitApplied(1, milliseconds(20)));
}

TEST(ApplierTest, Push_BoundedQueueBlocksUntilApplied) {
  FakeStateMachine sm;
  Applier::Options options;
  options.queue_bytes_max = 4;
  options.retry_ms = 5;
  sm.SetFail(true);
  Applier applier(&sm, options, [](auto, const auto&, const auto&) {});
  applier.Push(1, {"aaa"});
  std::atomic<bool> pushed{false};
  std::thread pusher([&] {
    applier.Push(2, {"bbb"});
    pushed = true;
  });
  EXPECT_FALSE(applier.WaitApplied(1, milliseconds(50)));
  EXPECT_FALSE(pushed.load()) << "queue bound not enforced";
  sm.SetFail(false);
  pusher.join();
  EXPECT_TRUE(applier.WaitApplied(2, seconds(10)));
}

TEST(ApplierDeathTest, Push_OutOfOrderAborts) {
  FakeStateMachine sm;
  EXPECT_DEATH(
      {
        Applier applier(&sm, Applier::Options(),
                        [](auto, const auto&, const auto&) {});
        applier.Push(2, {"x"});
      },
      "out of order");
}

TEST(ApplierTest, Idle_CheckpointsTheLastSlots) {
  FakeStateMachine sm;
  Applier::Options options;
  options.idle_checkpoint_ms = 20;
  Applier applier(&sm, options,
                  [](uint64_t, const std::vector<std::string>&,
                     const std::vector<std::string>&) {});
  applier.Push(1, {"a"});
  applier.Push(2, {"b"});
  ASSERT_TRUE(applier.WaitApplied(2, seconds(5)));
  auto deadline = std::chrono::steady_clock::now() + seconds(5);
  while (applier.durable_index() < 2 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_EQ(applier.durable_index(), 2u);
}

TEST(ApplierTest, Idle_TidiesAfterTheCheckpointAndSoonAgainWhileMoreRemains) {
  FakeStateMachine sm;
  sm.SetTidyMore(4);
  Applier::Options options;
  options.idle_checkpoint_ms = 500;
  options.tidy_pause_ms = 1;
  Applier applier(&sm, options,
                  [](uint64_t, const std::vector<std::string>&,
                     const std::vector<std::string>&) {});
  applier.Push(1, {"a"});
  ASSERT_TRUE(applier.WaitApplied(1, seconds(5)));
  // Four calls that say "more", the fifth that says "done", then a sixth
  // only after a whole idle period.
  auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (sm.tidy_calls().size() < 6 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  auto calls = sm.tidy_calls();
  ASSERT_GE(calls.size(), 6u);
  EXPECT_FALSE(sm.tidy_before_durable());
  EXPECT_EQ(applier.durable_index(), 1u);
  EXPECT_LT(calls[4] - calls[0], milliseconds(options.idle_checkpoint_ms));
  EXPECT_GE(calls[5] - calls[4], milliseconds(options.idle_checkpoint_ms));
}

}  // namespace
}  // namespace paxosfs::replica
