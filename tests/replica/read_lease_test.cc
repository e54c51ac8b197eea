// Follower read leases (replica/README.md): a voter serves reads from its
// applied state, and the leader chooses nothing without that voter.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/replica/core_test_util.h"

namespace paxosfs::replica {
namespace {

NodeId Other(NodeId a, NodeId b = kNoNode) {
  for (NodeId n = 1;; ++n) {
    if (n != a && n != b) return n;
  }
}

bool HasSlot(const Message& m, uint64_t slot) {
  return std::any_of(m.entries.begin(), m.entries.end(),
                     [&](const WireEntry& e) { return e.slot == slot; });
}

bool FollowerWindow(TestCluster& c, NodeId n) {
  auto w = c.node(n).LocalReadWindowAt(c.now());
  return w.has_value() && !w->leader;
}

// A voter asks for a lease once it reads: one read through a barrier.
void StartReading(TestCluster& c, NodeId n) {
  c.node(n).RequestRead(c.now());
  c.Advance(20 * kMs);
  ASSERT_TRUE(FollowerWindow(c, n)) << "node " << n << " holds no lease";
}

TEST(ReadLease, VoterReadsLocallyWithNoMessage) {
  TestCluster c(3);
  NodeId leader = c.ElectLeader();
  NodeId f = Other(leader);
  ASSERT_TRUE(c.node(leader).Propose("w", c.now()).ok());
  c.Advance(50 * kMs);
  EXPECT_FALSE(FollowerWindow(c, f));  // It has not read yet.
  StartReading(c, f);
  c.reads(f).clear();
  int barriers = 0;
  c.DropWhere([&](const Envelope& e) {
    barriers += e.msg.type == MsgType::kReadIndexRequest;
    return false;
  });
  auto window = c.node(f).LocalReadWindowAt(c.now());
  ASSERT_TRUE(window.has_value());
  EXPECT_FALSE(window->leader);
  EXPECT_EQ(window->index, c.node(leader).chosen_prefix());
  uint64_t id = c.node(f).RequestRead(c.now());
  c.Settle();
  EXPECT_EQ(c.reads(f), std::vector<uint64_t>{id});
  EXPECT_EQ(barriers, 0);
}

// The leader's choice waits for every holder's accept, and a holder cut
// off holds writes up only until its lease has ended on its own clock.
TEST(ReadLease, NothingChosenWithoutAHoldersAcceptWhileItsLeaseRuns) {
  TestCluster c(3);
  NodeId leader = c.ElectLeader();
  NodeId f = Other(leader);
  StartReading(c, f);
  c.Cut(leader, f);
  uint64_t before = c.node(leader).chosen_prefix();
  ASSERT_TRUE(c.node(leader).Propose("w", c.now()).ok());
  c.Advance(20 * kMs);
  EXPECT_EQ(c.node(leader).chosen_prefix(),
            before);  // The other voter took it.
  int steps = 0;
  while (c.node(leader).chosen_prefix() == before && steps++ < 100) {
    c.Advance(5 * kMs);
    if (c.node(leader).chosen_prefix() > before) {
      EXPECT_FALSE(FollowerWindow(c, f)) << "chosen while the cut-off holder "
                                            "could still read without it";
    }
  }
  EXPECT_GT(c.node(leader).chosen_prefix(), before);
}

// A voter that stopped reading stops asking, so writes stop waiting for it.
TEST(ReadLease, LapsesWhenTheVoterStopsReading) {
  TestCluster c(3);
  NodeId leader = c.ElectLeader();
  NodeId f = Other(leader);
  StartReading(c, f);
  c.Advance(TestOptions(f, Genesis(3)).read_lease_idle_ns + 300 * kMs);
  EXPECT_FALSE(FollowerWindow(c, f));
  c.Cut(leader, f);
  uint64_t before = c.node(leader).chosen_prefix();
  ASSERT_TRUE(c.node(leader).Propose("w", c.now()).ok());
  c.Settle();
  EXPECT_GT(c.node(leader).chosen_prefix(), before);
}

// A slot chosen before the grant, out of order, is acknowledged once the gap
// below it closes, maybe with the holder's accept for the gap alone: the
// grant must make the holder wait for it too.
TEST(ReadLease, GrantCoversSlotsChosenBeforeIt) {
  TestCluster c(3);
  NodeId leader = c.ElectLeader();
  NodeId f = Other(leader);
  StartReading(c, f);
  c.Cut(leader, f);
  c.Advance(300 * kMs);  // f's lease and the leader's grant run out.
  ASSERT_FALSE(FollowerWindow(c, f));
  uint64_t gap = c.node(leader).chosen_prefix() + 1;
  std::vector<uint64_t> granted;
  c.DropWhere([&](const Envelope& e) {
    if (e.msg.type == MsgType::kLeaseGrant && e.to == f) {
      granted.push_back(e.msg.index);
    }
    return e.msg.type == MsgType::kAccept && HasSlot(e.msg, gap);
  });
  ASSERT_TRUE(c.node(leader).Propose("a", c.now()).ok());
  ASSERT_TRUE(c.node(leader).Propose("b", c.now()).ok());
  c.Advance(20 * kMs);  // gap + 1 is chosen; gap is not.
  ASSERT_EQ(c.node(leader).chosen_prefix(), gap - 1);
  c.HealAll();
  c.Advance(30 * kMs);
  ASSERT_FALSE(granted.empty());
  EXPECT_GE(granted.front(), gap + 1);
  c.DropWhere(nullptr);
  c.Advance(50 * kMs);
  EXPECT_GE(c.node(f).applied_index(), gap + 1);
}

// A leader restarted from its disk forgot whom it granted leases; a new
// ballot of its own must not choose anything until those leases are over.
// The acceptors would promise it at once (their leader leases are its), so
// only its own wait stops it; its short timeout makes it try first, and
// one holder it cannot reach keeps reading.
TEST(ReadLease, NoNewBallotLeadsWhileAHolderOfTheOldOneReads) {
  TestCluster c(5);
  NodeId leader = c.ElectLeader();
  ASSERT_TRUE(c.node(leader).Propose("w", c.now()).ok());
  for (NodeId n = 1; n <= 5; ++n) {
    if (n != leader) StartReading(c, n);
  }
  c.Restart(leader, [](Options& o) { o.election_timeout_ns = 20 * kMs; });
  c.Cut(leader, Other(leader));
  int reading = 0;
  for (int step = 0; step < 100; ++step) {
    c.Advance(5 * kMs);
    for (NodeId n = 1; n <= 5; ++n) {
      if (!FollowerWindow(c, n)) continue;
      ++reading;
      for (NodeId m = 1; m <= 5; ++m) {
        if (c.node(m).role() != Role::kLeader) continue;
        EXPECT_EQ(c.node(m).promised(), c.node(n).promised())
            << "node " << m << " leads while node " << n
            << " reads under a lease of an older ballot";
      }
    }
  }
  EXPECT_GT(reading, 0);
  EXPECT_NE(c.Leader(), kNoNode);
}

}  // namespace
}  // namespace paxosfs::replica
