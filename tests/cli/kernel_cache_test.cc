// When the kernel may cache read replies, and what a vote drops.
#include "cli/kernel_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <vector>

#include "proto/command.pb.h"

namespace paxosfs::cli {
namespace {

constexpr int64_t kMs = 1'000'000;

class RecordingMount : public fuse::Mount {
 public:
  void Stop() override {}
  void InvalidateInode(uint64_t, int64_t, int64_t) override {}
  void InvalidateEntry(uint64_t, const std::string&) override {}
  bool DropCachedAttrs(uint64_t ino) override {
    dropped.push_back(ino);
    if (absent_for > 0) {
      --absent_for;
      if (clock != nullptr) clock->Advance(step_ns);
      return false;
    }
    return true;
  }
  bool DropCachedEntries() override {
    ++name_drops;
    return !refuse_names;
  }

  std::vector<uint64_t> dropped;
  int name_drops = 0;
  std::atomic<bool> refuse_names{false};
  // The next this many drops find no inode, each taking step_ns on `clock`.
  int absent_for = 0;
  ManualClock* clock = nullptr;
  int64_t step_ns = 0;
};

std::string WriteTo(uint64_t ino) {
  proto::Command c;
  c.mutable_write()->set_inode(ino);
  return c.SerializeAsString();
}

std::string RenameIn(uint64_t parent) {
  proto::Command c;
  c.mutable_rename()->set_parent(parent);
  c.mutable_rename()->set_name("a");
  c.mutable_rename()->set_new_parent(parent);
  c.mutable_rename()->set_new_name("b");
  return c.SerializeAsString();
}

class KernelCacheTest : public ::testing::Test {
 protected:
  KernelCacheTest()
      : clock_(1000 * kMs),
        window_{10, clock_.MonotonicNanos() + 800 * kMs},
        cache_(
            KernelCacheOptions{1000 * kMs, 100 * kMs},
            [this] { return window_; }, &clock_, 10) {
    cache_.SetMount(&mount_);
  }

  // Caches `ino` as a lookup would; returns the timeout given.
  double Cache(uint64_t ino) { return cache_.Seconds(cache_.Ticket(), ino); }

  void Vote(uint64_t slot, std::vector<std::string> commands,
            bool* decoded = nullptr) {
    cache_.Voted(slot, [&]() -> std::optional<std::vector<std::string>> {
      if (decoded != nullptr) *decoded = true;
      return commands;
    });
  }

  ManualClock clock_;
  replica::LocalReads window_;
  RecordingMount mount_;
  KernelCache cache_;
};

TEST_F(KernelCacheTest, CachesUntilAMarginBeforeTheWindowEnds) {
  EXPECT_DOUBLE_EQ(Cache(5), 0.7);
  window_.until_ns = clock_.MonotonicNanos() + 5000 * kMs;
  EXPECT_DOUBLE_EQ(Cache(5), 1.0) << "capped at max_ns";
}

TEST_F(KernelCacheTest, NothingCachedWithoutAWindowOrBeforeItsIndexApplies) {
  window_ = {};
  EXPECT_EQ(cache_.Ticket(), 0u);
  window_ = {11, clock_.MonotonicNanos() + 800 * kMs};
  EXPECT_EQ(cache_.Ticket(), 0u) << "slot 11 is not applied here yet";
  cache_.Applied(11);
  EXPECT_GT(Cache(5), 0);
  window_.until_ns = clock_.MonotonicNanos() + 50 * kMs;
  EXPECT_EQ(cache_.Ticket(), 0u) << "less than the margin left";
}

TEST_F(KernelCacheTest, NothingCachedWhileAVoteIsUnapplied) {
  Vote(11, {WriteTo(99)});
  EXPECT_EQ(cache_.Ticket(), 0u);
  cache_.Applied(11);
  EXPECT_GT(Cache(5), 0);
}

TEST_F(KernelCacheTest, AVoteAfterTheTicketRefusesTheReply) {
  uint64_t ticket = cache_.Ticket();
  ASSERT_NE(ticket, 0u);
  // The state read under this ticket may predate slot 11.
  Vote(11, {WriteTo(99)});
  cache_.Applied(11);
  EXPECT_EQ(cache_.Seconds(ticket, 5), 0);
  EXPECT_GT(Cache(5), 0) << "a new ticket reads after slot 11";
}

TEST_F(KernelCacheTest, AWriteDropsOnlyItsInode) {
  ASSERT_GT(Cache(5), 0);
  ASSERT_GT(Cache(6), 0);
  Vote(11, {WriteTo(5)});
  EXPECT_EQ(mount_.dropped, std::vector<uint64_t>{5});
  EXPECT_EQ(mount_.name_drops, 0);
  cache_.Applied(11);
  Vote(12, {WriteTo(5)});
  EXPECT_EQ(mount_.dropped.size(), 1u) << "inode 5 was not cached again";
}

// A lookup reply that brings the kernel a new inode may land after the
// drop: the drop waits for it, but no longer than the margin.
TEST_F(KernelCacheTest, ADropThatFindsNoInodeWaitsForTheReplyInFlight) {
  ASSERT_GT(Cache(5), 0);
  mount_.absent_for = 2;
  Vote(11, {WriteTo(5)});
  EXPECT_EQ(mount_.dropped, (std::vector<uint64_t>{5, 5, 5}));
  cache_.Applied(11);

  ASSERT_GT(Cache(5), 0);
  mount_.dropped.clear();
  mount_.absent_for = 1000;
  mount_.clock = &clock_;
  mount_.step_ns = 10 * kMs;
  Vote(12, {WriteTo(5)});
  EXPECT_EQ(mount_.dropped.size(), 10u) << "gave up after the 100 ms margin";
}

TEST_F(KernelCacheTest, ARenameDropsEveryAttributeAndName) {
  ASSERT_GT(Cache(5), 0);
  ASSERT_GT(Cache(0), 0);  // A name found missing.
  ASSERT_GT(Cache(6), 0);
  Vote(11, {RenameIn(1)});
  std::vector<uint64_t> dropped = mount_.dropped;
  std::sort(dropped.begin(), dropped.end());
  EXPECT_EQ(dropped, (std::vector<uint64_t>{5, 6}));
  EXPECT_EQ(mount_.name_drops, 1);
}

TEST_F(KernelCacheTest, ABatchDropsItsWritesInodeAndThenEverything) {
  ASSERT_GT(Cache(5), 0);
  ASSERT_GT(Cache(6), 0);
  Vote(11, {WriteTo(5), RenameIn(1)});
  std::vector<uint64_t> dropped = mount_.dropped;
  std::sort(dropped.begin(), dropped.end());
  EXPECT_EQ(dropped, (std::vector<uint64_t>{5, 6}));
  EXPECT_EQ(mount_.name_drops, 1);
}

TEST_F(KernelCacheTest, AValueThatDoesNotDecodeDropsEverything) {
  ASSERT_GT(Cache(5), 0);
  cache_.Voted(11, [] { return std::optional<std::vector<std::string>>(); });
  EXPECT_EQ(mount_.dropped, std::vector<uint64_t>{5});
  EXPECT_EQ(mount_.name_drops, 1);
  cache_.Applied(11);
  ASSERT_GT(Cache(5), 0);
  Vote(12, {"not a command"});
  EXPECT_EQ(mount_.dropped.size(), 2u);
  EXPECT_EQ(mount_.name_drops, 2);
}

TEST_F(KernelCacheTest, NothingKeptNothingDecodedOrDropped) {
  bool decoded = false;
  Vote(11, {RenameIn(1)}, &decoded);
  EXPECT_FALSE(decoded);
  cache_.Applied(11);
  ASSERT_GT(Cache(5), 0);
  // Past its timeout and the margin the kernel no longer holds it.
  clock_.Advance(900 * kMs);
  Vote(12, {RenameIn(1)});
  EXPECT_TRUE(mount_.dropped.empty());
  EXPECT_EQ(mount_.name_drops, 0);
}

TEST_F(KernelCacheTest, EachCommandKindDropsWhatItMayChange) {
  using Make = std::function<void(proto::Command*)>;
  const std::vector<Make> by_inode = {
      [](proto::Command* c) { c->mutable_setattr()->set_inode(5); },
      [](proto::Command* c) { c->mutable_write()->set_inode(5); },
      [](proto::Command* c) { c->mutable_fallocate()->set_inode(5); },
      [](proto::Command* c) { c->mutable_setxattr()->set_inode(5); },
      [](proto::Command* c) { c->mutable_removexattr()->set_inode(5); },
  };
  const std::vector<Make> names = {
      [](proto::Command* c) { c->mutable_create(); },
      [](proto::Command* c) { c->mutable_mkdir(); },
      [](proto::Command* c) { c->mutable_unlink(); },
      [](proto::Command* c) { c->mutable_rmdir(); },
      [](proto::Command* c) { c->mutable_rename(); },
      [](proto::Command* c) { c->mutable_link(); },
      [](proto::Command* c) { c->mutable_symlink(); },
  };
  const std::vector<Make> nothing = {
      [](proto::Command* c) { c->mutable_noop(); },
      [](proto::Command* c) { c->mutable_collect(); },
  };
  uint64_t slot = 10;
  auto vote = [&](const Make& make) {
    ASSERT_GT(Cache(5), 0);
    ASSERT_GT(Cache(6), 0);
    ASSERT_GT(Cache(0), 0);
    mount_.dropped.clear();
    mount_.name_drops = 0;
    proto::Command c;
    make(&c);
    Vote(++slot, {c.SerializeAsString()});
    cache_.Applied(slot);
    std::sort(mount_.dropped.begin(), mount_.dropped.end());
  };
  for (size_t i = 0; i < by_inode.size(); ++i) {
    vote(by_inode[i]);
    EXPECT_EQ(mount_.dropped, std::vector<uint64_t>{5}) << "by inode " << i;
    EXPECT_EQ(mount_.name_drops, 0) << "by inode " << i;
  }
  for (size_t i = 0; i < names.size(); ++i) {
    vote(names[i]);
    EXPECT_EQ(mount_.dropped, (std::vector<uint64_t>{5, 6})) << "names " << i;
    EXPECT_EQ(mount_.name_drops, 1) << "names " << i;
  }
  for (size_t i = 0; i < nothing.size(); ++i) {
    vote(nothing[i]);
    EXPECT_TRUE(mount_.dropped.empty()) << "nothing " << i;
    EXPECT_EQ(mount_.name_drops, 0) << "nothing " << i;
  }
}

// If the kernel will not drop names, the vote leaves only once every name
// handed out has timed out (its timeout and the margin).
TEST_F(KernelCacheTest, ARefusedNameDropHoldsTheVoteUntilNamesExpire) {
  double seconds = Cache(0);
  ASSERT_GT(seconds, 0);
  int64_t expired =
      clock_.MonotonicNanos() + static_cast<int64_t>(seconds * 1e9) + 100 * kMs;
  mount_.refuse_names = true;
  auto voted = std::async(std::launch::async, [&] { Vote(11, {RenameIn(1)}); });
  EXPECT_EQ(voted.wait_for(std::chrono::milliseconds(50)),
            std::future_status::timeout);
  clock_.Advance(expired - clock_.MonotonicNanos() - kMs);
  EXPECT_EQ(voted.wait_for(std::chrono::milliseconds(20)),
            std::future_status::timeout);
  clock_.Advance(2 * kMs);
  EXPECT_EQ(voted.wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  EXPECT_EQ(mount_.name_drops, 1);
}

}  // namespace
}  // namespace paxosfs::cli
