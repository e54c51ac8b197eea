// Leader behaviour in a small synchronous cluster of real cores.
#include <gtest/gtest.h>

#include "replica/core/codec.h"
#include "tests/replica/core_test_util.h"

namespace paxosfs::replica {
namespace {

// Built by appending: GCC 12 warns falsely (-Wrestrict) on "x" + string.
std::string Cmd(const char* prefix, int i) {
  std::string s = prefix;
  s += std::to_string(i);
  return s;
}

TEST(Election, OneLeaderEmerges) {
  TestCluster c(3);
  NodeId leader = c.ElectLeader();
  ASSERT_NE(leader, kNoNode);
  c.Advance(500 * kMs);
  EXPECT_EQ(c.Leader(), leader);  // Stable: no needless elections.
}

TEST(Propose, FollowerRefusesWithLeaderHint) {
  TestCluster c(3);
  NodeId leader = c.ElectLeader();
  NodeId follower = leader == 1 ? 2 : 1;
  Status s = c.node(follower).Propose("x", c.now());
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(c.node(follower).LeaderHint(), leader);
}

TEST(Propose, AppliedInOrderOnEveryReplicaIncludingLearners) {
  TestCluster c(3, 1);
  NodeId leader = c.ElectLeader();
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(c.node(leader).Propose(Cmd("cmd", i), c.now()).ok());
  }
  c.Settle();
  c.Advance(50 * kMs);
  std::vector<std::string> expect;
  for (int i = 0; i < 20; ++i) expect.push_back(Cmd("cmd", i));
  for (NodeId n = 1; n <= 4; ++n) {
    std::vector<std::string> got;
    uint64_t slot = 0;
    for (const ChosenEntry& e : c.applied(n)) {
      EXPECT_EQ(e.slot, ++slot);
      got.insert(got.end(), e.commands.begin(), e.commands.end());
    }
    EXPECT_EQ(got, expect) << "node " << n;
  }
}

// A follower's writer waits for its own node to apply: the leader tells
// followers the new commit index on its next tick, not a heartbeat later.
TEST(Propose, FollowersLearnTheCommitOnTheLeadersNextTick) {
  TestCluster c(3);
  NodeId leader = c.ElectLeader();
  c.Advance(20 * kMs);
  size_t before = c.applied(leader == 1 ? 2 : 1).size();
  ASSERT_TRUE(c.node(leader).Propose(Cmd("cmd", 1), c.now()).ok());
  c.Settle();
  c.Advance(1 * kMs, 1 * kMs);  // Well inside the 10 ms heartbeat interval.
  for (NodeId n = 1; n <= 3; ++n) {
    ASSERT_GT(c.applied(n).size(), before) << "node " << n;
    EXPECT_EQ(c.applied(n).back().commands,
              std::vector<std::string>{Cmd("cmd", 1)})
        << "node " << n;
  }
}

TEST(Propose, BatchesWhatArrivesWhileSlotsAreInFlight) {
  TestCluster c(3);
  NodeId leader = c.ElectLeader();
  NodeId a = leader == 1 ? 2 : 1, b = 6 - leader - a;
  c.Cut(leader, a);
  c.Cut(leader, b);
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(c.node(leader).Propose(Cmd("c", i), c.now()).ok());
  }
  c.Settle();
  c.HealAll();
  c.Advance(50 * kMs);
  // The idle leader sends the first command at once, alone; the 11 proposed
  // while it was in flight leave together, by 3 (a slot per command would
  // have filled the window of 4 with one-command slots).
  size_t slots = 0, commands = 0;
  for (const ChosenEntry& e : c.applied(leader)) {
    if (e.commands.empty()) continue;
    ++slots;
    commands += e.commands.size();
  }
  EXPECT_EQ(commands, 12u);
  EXPECT_EQ(slots, 1u + 4u);
}

// With MiB values and accepts resent at every heartbeat, a slot sent a
// moment before one went out twice and every voter wrote it twice: 8
// writers of 1 MiB wrote 1.63 bytes to each follower's log per byte.
TEST(Propose, UnansweredAcceptIsResentAfterAHeartbeatIntervalNotAtTheNext) {
  TestCluster c(3);
  NodeId leader = c.ElectLeader();
  NodeId follower = leader == 1 ? 2 : 1;
  c.Advance(20 * kMs);
  int64_t heartbeat_at = -1;
  int accepts = 0;
  c.DropWhere([&](const Envelope& e) {
    if (e.msg.type == MsgType::kHeartbeat && e.to == follower) {
      heartbeat_at = c.now();
    }
    if (e.msg.type == MsgType::kAccept && e.to == follower) {
      for (const WireEntry& w : e.msg.entries) accepts += !w.value.empty();
    }
    return e.msg.type == MsgType::kAccepted;  // Leaves the slot in flight.
  });
  while (heartbeat_at < 0) c.Advance(1 * kMs, 1 * kMs);
  const int64_t first = heartbeat_at;
  c.Advance(9 * kMs, 1 * kMs);  // The next heartbeat is 1 ms away.
  ASSERT_TRUE(c.node(leader).Propose(Cmd("late", 1), c.now()).ok());
  c.Settle();
  ASSERT_EQ(accepts, 1);
  c.Advance(1 * kMs, 1 * kMs);
  ASSERT_EQ(heartbeat_at, first + 10 * kMs);
  EXPECT_EQ(accepts, 1) << "resent 1 ms after it was sent";
  c.Advance(10 * kMs, 1 * kMs);
  ASSERT_EQ(heartbeat_at, first + 20 * kMs);
  EXPECT_EQ(accepts, 2) << "not resent a heartbeat interval after it was sent";
}

TEST(LeaderChange, LaggingReplicaCatchesUp) {
  TestCluster c(3);
  NodeId leader = c.ElectLeader();
  NodeId lagging = leader == 3 ? 2 : 3;
  c.Cut(leader, lagging);
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(c.node(leader).Propose(Cmd("c", i), c.now()).ok());
    c.Advance(5 * kMs);
  }
  EXPECT_LT(c.node(lagging).chosen_prefix(), c.node(leader).chosen_prefix());
  c.HealAll();
  c.Advance(100 * kMs);
  EXPECT_EQ(c.node(lagging).chosen_prefix(), c.node(leader).chosen_prefix());
}

TEST(Lease, LeaderServesLocalReadsOnlyWhileLeaseHolds) {
  TestCluster c(3);
  NodeId leader = c.ElectLeader();
  c.Advance(50 * kMs);
  EXPECT_TRUE(c.node(leader).CanServeLocalRead(c.now()));
  for (NodeId n = 1; n <= 3; ++n) {
    if (n != leader) c.Cut(leader, n);
  }
  // lease 200 ms · (1-ρ)/(1+ρ) ≈ 196 ms from the last acknowledged send.
  c.Advance(150 * kMs);
  EXPECT_TRUE(c.node(leader).CanServeLocalRead(c.now()));
  c.Advance(100 * kMs);
  EXPECT_FALSE(c.node(leader).CanServeLocalRead(c.now()));
}

// The driver serves the leader's reads from a window published after each
// turn: it must close before any rival can be elected, however long the
// leader then hears nothing.
TEST(Lease, ReadWindowClosesBeforeARivalCanLead) {
  TestCluster c(3);
  NodeId leader = c.ElectLeader();
  ASSERT_TRUE(c.node(leader).Propose(Cmd("w", 1), c.now()).ok());
  c.Advance(50 * kMs);
  auto window = c.node(leader).LocalReadWindowAt(c.now());
  ASSERT_TRUE(window.has_value());
  EXPECT_EQ(window->index, c.node(leader).chosen_prefix());
  EXPECT_GT(window->until_ns, c.now());
  for (NodeId n = 1; n <= 3; ++n) {
    if (n != leader) c.Cut(leader, n);
  }
  c.Advance(window->until_ns - c.now() - kMs);
  for (NodeId n = 1; n <= 3; ++n) {
    if (n != leader) {
      EXPECT_NE(c.node(n).role(), Role::kLeader) << n;
    }
  }
  // Not vacuous: the others do elect a rival once the leases run out.
  c.Advance(2000 * kMs);
  bool rival = false;
  for (NodeId n = 1; n <= 3; ++n) {
    rival |= n != leader && c.node(n).role() == Role::kLeader;
  }
  EXPECT_TRUE(rival);
  EXPECT_FALSE(c.node(leader).LocalReadWindowAt(c.now()).has_value());
}

TEST(ReadBarrier, FollowerReadWaitsForLeaderCommitIndex) {
  TestCluster c(3);
  NodeId leader = c.ElectLeader();
  NodeId f = leader == 1 ? 2 : 1;
  ASSERT_TRUE(c.node(leader).Propose("w", c.now()).ok());
  c.Settle();
  c.Advance(20 * kMs);
  uint64_t id = c.node(f).RequestRead(c.now());
  c.Settle();
  ASSERT_EQ(c.reads(f), std::vector<uint64_t>{id});
  EXPECT_GE(c.node(f).applied_index(), c.node(leader).chosen_prefix());
}

TEST(Membership, OneChangeAtATime) {
  TestCluster c(3, 1);
  NodeId leader = c.ElectLeader();
  Config next = c.node(leader).LatestConfig();
  Config two = next;
  two.voters.push_back({4, c.node(4).disk_id()});
  two.voters.push_back({5, 55});
  EXPECT_EQ(c.node(leader).ProposeConfig(two, c.now()).code(),
            StatusCode::kInvalidArgument);
  next.voters.push_back({4, c.node(4).disk_id()});
  next.learners.clear();
  ASSERT_TRUE(c.node(leader).ProposeConfig(next, c.now()).ok());
  EXPECT_EQ(c.node(leader).ProposeConfig(next, c.now()).code(),
            StatusCode::kAborted);
  // The leader fills α no-ops so the change takes effect without traffic.
  c.Advance(100 * kMs);
  EXPECT_FALSE(c.node(leader).ConfigChangePending());
  EXPECT_EQ(c.node(leader).ConfigFor(c.node(leader).chosen_prefix() + 1), next);
  EXPECT_TRUE(c.node(4).IsAcceptor());
}

// Drives node 1 through phase 1 by hand with crafted promises.
TEST(PhaseOne, ReproposesHighestBallotValueAndFillsGaps) {
  Config genesis = Genesis(3);
  Core core(TestOptions(1, genesis), Bootstrapped(genesis, 1), 0);
  int64_t now = 0;
  while (core.role() != Role::kCandidate) core.Tick(now += 5 * kMs);
  Message yes;
  yes.type = MsgType::kPreVoteReply;
  yes.ok = true;
  yes.disk_id = 1002;
  core.Step(Envelope{2, 1, yes}, now);
  ASSERT_EQ(core.role(), Role::kPreparing);
  Ready r = core.TakeReady();
  Ballot b;
  for (const Envelope& e : r.messages) {
    if (e.msg.type == MsgType::kPrepare) b = e.msg.ballot;
  }
  ASSERT_EQ(b.node, 1u);
  auto value = [](std::string s) {
    return EncodeValue(Value{Value::Kind::kBatch, {std::move(s)}, {}});
  };
  Message p;
  p.type = MsgType::kPromise;
  p.ballot = b;
  p.ok = true;
  p.complete = true;
  p.slot = 1;
  p.disk_id = 1002;
  p.entries = {{1, {1, 3}, false, value("old")},
               {3, {1, 3}, false, value("c")}};
  Message q = p;
  q.disk_id = 1003;
  q.entries = {{1, {2, 2}, false, value("newer")}};
  core.Step(Envelope{3, 1, q}, now);
  core.Step(Envelope{2, 1, p}, now);
  ASSERT_EQ(core.role(), Role::kLeader);
  r = core.TakeReady();
  std::map<uint64_t, std::string> proposed;
  for (const Envelope& e : r.messages) {
    if (e.msg.type != MsgType::kAccept) continue;
    for (const WireEntry& w : e.msg.entries) proposed[w.slot] = w.value;
  }
  EXPECT_EQ(proposed[1], value("newer"));
  EXPECT_EQ(proposed[2], EncodeValue(Value{}));  // Gap: no-op.
  EXPECT_EQ(proposed[3], value("c"));
  EXPECT_EQ(proposed.count(4), 0u);
}

// A promise reporting slot 3 as chosen must make the new leader fill slots 1
// and 2 (and hold lease reads until they are chosen), even with no traffic.
TEST(PhaseOne, FillsGapsBelowASlotReportedChosen) {
  Config genesis = Genesis(3);
  Core core(TestOptions(1, genesis), Bootstrapped(genesis, 1), 0);
  int64_t now = 0;
  while (core.role() != Role::kCandidate) core.Tick(now += 5 * kMs);
  Message yes;
  yes.type = MsgType::kPreVoteReply;
  yes.ok = true;
  yes.disk_id = 1002;
  core.Step(Envelope{2, 1, yes}, now);
  Ready r = core.TakeReady();
  Ballot b;
  for (const Envelope& e : r.messages) {
    if (e.msg.type == MsgType::kPrepare) b = e.msg.ballot;
  }
  Message p;
  p.type = MsgType::kPromise;
  p.ballot = b;
  p.ok = true;
  p.complete = true;
  p.slot = 1;
  p.disk_id = 1002;
  Message q = p;
  q.disk_id = 1003;
  p.entries = {{3, {1, 3}, true, EncodeValue(Value{})}};
  core.Step(Envelope{2, 1, p}, now);
  core.Step(Envelope{3, 1, q}, now);
  ASSERT_EQ(core.role(), Role::kLeader);
  EXPECT_FALSE(core.CanServeLocalRead(now));
  std::set<uint64_t> proposed;
  for (const Envelope& e : core.TakeReady().messages) {
    if (e.msg.type != MsgType::kAccept) continue;
    for (const WireEntry& w : e.msg.entries) proposed.insert(w.slot);
  }
  EXPECT_EQ(proposed, (std::set<uint64_t>{1, 2}));
}

}  // namespace
}  // namespace paxosfs::replica
