// The driver's ordering promises, with a real core on a memory log whose
// syncs the test can hold, a recording state machine and no peers.
#include "replica/driver.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "log/memory_log.h"

namespace paxosfs::replica {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A MemoryLog whose Sync can be held until released.
class HeldSyncLog final : public log::Log {
 public:
  Status Append(std::span<const log::Entry> entries) override {
    return log_.Append(entries);
  }
  Status SetMetadata(std::string_view blob) override {
    return log_.SetMetadata(blob);
  }
  Status Sync() override {
    std::unique_lock<std::mutex> lock(mu_);
    ++syncs_waiting_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return !held_; });
    --syncs_waiting_;
    return log_.Sync();
  }
  StatusOr<log::Entry> Get(uint64_t slot) const override {
    return log_.Get(slot);
  }
  uint64_t FirstSlot() const override { return log_.FirstSlot(); }
  uint64_t LastSlot() const override { return log_.LastSlot(); }
  std::string Metadata() const override { return log_.Metadata(); }
  Status TruncatePrefix(uint64_t first_slot) override {
    return log_.TruncatePrefix(first_slot);
  }

  void Hold(bool held) {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = held;
    cv_.notify_all();
  }
  bool WaitForHeldSync() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, seconds(10), [this] { return syncs_waiting_; });
  }

 private:
  log::MemoryLog log_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;      // Guarded by mu_.
  int syncs_waiting_ = 0;  // Guarded by mu_.
};

class NoPeers final : public Transport {
 public:
  int port() const override { return 0; }
  void SetPeer(uint64_t, const std::string&) override {}
  void RemovePeer(uint64_t) override {}
  bool Send(uint64_t, std::string) override { return true; }
  TransportStats stats() const override { return {}; }
};

// Records the commands it applies.
class RecordingMachine final : public StateMachine {
 public:
  StatusOr<std::vector<std::string>> Apply(
      uint64_t slot, const std::vector<std::string>& commands) override {
    std::lock_guard<std::mutex> lock(mu_);
    applied_ = slot;
    for (const std::string& c : commands) commands_.push_back(c);
    cv_.notify_all();
    return std::vector<std::string>(commands.size());
  }
  uint64_t AppliedIndex() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return applied_;
  }
  uint64_t DurableIndex() const override { return AppliedIndex(); }
  Status Checkpoint() override { return Status::Ok(); }

  bool WaitForCommand(const std::string& command, milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      for (const std::string& c : commands_) {
        if (c == command) return true;
      }
      return false;
    });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t applied_ = 0;               // Guarded by mu_.
  std::vector<std::string> commands_;  // Guarded by mu_.
};

TEST(DriverTest, LoneVoter_AppliesNothingBeforeItsVoteIsDurable) {
  Config genesis;
  genesis.voters = {Voter{1, 1}};
  genesis.addresses[1] = "127.0.0.1:1";
  genesis.next_node_id = 2;
  HeldSyncLog log;
  ASSERT_TRUE(BootstrapLog(&log, genesis, 1).ok());
  NoPeers peers;
  RecordingMachine machine;
  Applier applier(&machine, Applier::Options(),
                  [](uint64_t, const std::vector<std::string>&,
                     const std::vector<std::string>&) {});
  DriverOptions options;
  options.node_id = 1;
  options.genesis = genesis;
  auto driver = Driver::Start(options, &log, &peers, &applier);
  ASSERT_TRUE(driver.ok()) << driver.status().ToString();

  // A lone voter elects itself (after the lease it may have granted); the
  // driver has no event for that, so poll its status, bounded.
  auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (!(*driver)->status().is_leader &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_TRUE((*driver)->status().is_leader);
  ASSERT_TRUE((*driver)->Propose("first").ok());
  ASSERT_TRUE(machine.WaitForCommand("first", milliseconds(10'000)));

  // Its own vote chooses the slot at once; until that vote is on disk, an
  // applied (and so acknowledged) write could be lost by a power cut.
  log.Hold(true);
  ASSERT_TRUE((*driver)->Propose("second").ok());
  ASSERT_TRUE(log.WaitForHeldSync());
  EXPECT_FALSE(machine.WaitForCommand("second", milliseconds(300)))
      << "a slot chosen by an unsynced vote was applied";
  log.Hold(false);
  EXPECT_TRUE(machine.WaitForCommand("second", milliseconds(10'000)));
  driver->reset();
}

}  // namespace
}  // namespace paxosfs::replica
