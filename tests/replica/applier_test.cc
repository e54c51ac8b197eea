#include "replica/applier.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

namespace paxosfs::replica {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Records what it applies; can be told to fail, as a full disk would.
class FakeStateMachine : public StateMachine {
 public:
  StatusOr<std::vector<std::string>> Apply(
      uint64_t slot, const std::vector<std::string>& commands) override {
    std::lock_guard<std::mutex> lock(mu_);
    EXPECT_EQ(slot, applied_ + 1);
    if (fail_) return Status::NoSpace("disk full");
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

  void SetFail(bool fail) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = fail;
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
  std::string log_;
};

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

}  // namespace
}  // namespace paxosfs::replica
