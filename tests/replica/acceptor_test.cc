// The acceptor's rules, one message at a time against a single core.
#include <gtest/gtest.h>

#include <memory>

#include "replica/core/codec.h"
#include "tests/replica/core_test_util.h"

namespace paxosfs::replica {
namespace {

class AcceptorTest : public ::testing::Test {
 protected:
  AcceptorTest()
      : genesis_(Genesis(3)),
        core_(TestOptions(1, genesis_), Bootstrapped(genesis_, 1), 0) {
    (void)core_.TakeReady();
  }

  // Past the quiet period a restarted acceptor keeps for leases it may
  // have granted before.
  int64_t After() const { return 300 * kMs; }

  Ready Send(NodeId from, Message m, int64_t now) {
    core_.Step(Envelope{from, 1, std::move(m)}, now);
    core_.CheckAll();
    return core_.TakeReady();
  }
  static Message Prepare(Ballot b, uint64_t slot = 1) {
    Message m;
    m.type = MsgType::kPrepare;
    m.ballot = b;
    m.slot = slot;
    return m;
  }
  static Message Accept(Ballot b, uint64_t slot, std::string value,
                        uint64_t commit = 0) {
    Message m;
    m.type = MsgType::kAccept;
    m.ballot = b;
    m.commit = commit;
    m.entries.push_back({slot, b, false, std::move(value)});
    return m;
  }
  static Message Heartbeat(Ballot b, uint64_t commit) {
    Message m;
    m.type = MsgType::kHeartbeat;
    m.ballot = b;
    m.commit = commit;
    return m;
  }
  static std::string Batch(std::string cmd) {
    return EncodeValue(Value{Value::Kind::kBatch, {std::move(cmd)}, {}});
  }

  Config genesis_;
  Core core_;
};

// Found by review of tests/fuzz: a peer's chosen entry whose value does not
// decode used to stop the node with a failed check.
TEST_F(AcceptorTest, CatchupReply_UndecodableChosenValue_IgnoredNotFatal) {
  Message m;
  m.type = MsgType::kCatchupReply;
  m.ok = true;
  m.commit = 2;
  m.entries.push_back({1, {1, 2}, true, "\xff garbage"});
  m.entries.push_back({2, {1, 2}, true, Batch("x")});
  Ready r = Send(2, m, After());
  EXPECT_TRUE(r.committed.empty()) << "slot 1 must not count as learned";
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].slot, 2u);
  EXPECT_EQ(core_.chosen_prefix(), 0u);
}

TEST_F(AcceptorTest, HandlePrepare_PromisesAndPersistsBeforeReplying) {
  Ready r = Send(2, Prepare({5, 2}), After());
  ASSERT_TRUE(r.metadata.has_value());
  EXPECT_EQ(r.metadata->promised, (Ballot{5, 2}));
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].msg.type, MsgType::kPromise);
  EXPECT_TRUE(r.messages[0].msg.ok);
  EXPECT_EQ(core_.promised(), (Ballot{5, 2}));
}

TEST_F(AcceptorTest, HandlePrepare_StaleBallot) {
  (void)Send(2, Prepare({5, 2}), After());
  Ready r = Send(3, Prepare({4, 3}), After());
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_FALSE(r.messages[0].msg.ok);
  EXPECT_EQ(r.messages[0].msg.promised, (Ballot{5, 2}));
  EXPECT_FALSE(r.metadata.has_value());
}

TEST_F(AcceptorTest, HandlePrepare_QuietAfterRestart) {
  Ready r = Send(2, Prepare({5, 2}), 10 * kMs);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_FALSE(r.messages[0].msg.ok);
  EXPECT_EQ(core_.promised(), Ballot{});
}

TEST_F(AcceptorTest, HandlePrepare_RefusedWhileLeaseHeldByOther) {
  (void)Send(2, Heartbeat({3, 2}, 0), After());
  Ready r = Send(3, Prepare({9, 3}), After() + 100 * kMs);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_FALSE(r.messages[0].msg.ok);
  // The lease holder itself may raise its ballot.
  r = Send(2, Prepare({10, 2}), After() + 100 * kMs);
  EXPECT_TRUE(r.messages[0].msg.ok);
  // Once the granted lease expires on our clock, others may be promised.
  r = Send(3, Prepare({11, 3}), After() + 400 * kMs);
  EXPECT_TRUE(r.messages[0].msg.ok);
}

TEST_F(AcceptorTest, HandlePrepare_ReportsAcceptedEntries) {
  (void)Send(2, Accept({3, 2}, 1, Batch("a")), After());
  (void)Send(2, Accept({3, 2}, 4, Batch("d")), After());
  Ready r = Send(2, Prepare({4, 2}, 2), After());
  ASSERT_EQ(r.messages.size(), 1u);
  const Message& p = r.messages[0].msg;
  EXPECT_TRUE(p.complete);
  ASSERT_EQ(p.entries.size(), 1u);
  EXPECT_EQ(p.entries[0].slot, 4u);
  EXPECT_EQ(p.entries[0].ballot, (Ballot{3, 2}));
}

TEST_F(AcceptorTest, HandleAccept_StaleBallot) {
  (void)Send(2, Prepare({5, 2}), After());
  Ready r = Send(3, Accept({4, 3}, 1, Batch("x")), After());
  EXPECT_TRUE(r.records.empty());
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_FALSE(r.messages[0].msg.ok);
  EXPECT_EQ(r.messages[0].msg.promised, (Ballot{5, 2}));
}

TEST_F(AcceptorTest, HandleAccept_RecordsEntryInTheSameReadyAsTheAck) {
  Ready r = Send(2, Accept({5, 2}, 1, Batch("x")), After());
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].slot, 1u);
  EXPECT_FALSE(r.records[0].chosen);
  ASSERT_TRUE(r.metadata.has_value());  // Accepting promises the ballot.
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_TRUE(r.messages[0].msg.ok);
}

TEST_F(AcceptorTest, HandleAccept_RepeatAtTheSameBallot_AckedWithoutARecord) {
  (void)Send(2, Accept({5, 2}, 1, Batch("x")), After());
  // A resent accept: its value is in the log already.
  Ready again = Send(2, Accept({5, 2}, 1, Batch("x")), After());
  EXPECT_TRUE(again.records.empty());
  ASSERT_EQ(again.messages.size(), 1u);
  EXPECT_TRUE(again.messages[0].msg.ok);
  ASSERT_EQ(again.messages[0].msg.entries.size(), 1u);
  EXPECT_EQ(again.messages[0].msg.entries[0].slot, 1u);
  // Another ballot is another proposal: written.
  Ready next = Send(3, Accept({6, 3}, 1, Batch("y")), After());
  ASSERT_EQ(next.records.size(), 1u);
  EXPECT_EQ(next.records[0].ballot, (Ballot{6, 3}));
}

TEST_F(AcceptorTest, HandleHeartbeat_CommitChoosesEntriesOfThatBallot) {
  (void)Send(2, Accept({5, 2}, 1, Batch("x")), After());
  Ready r = Send(2, Heartbeat({5, 2}, 1), After());
  ASSERT_EQ(r.committed.size(), 1u);
  EXPECT_EQ(r.committed[0].slot, 1u);
  EXPECT_EQ(r.committed[0].commands, std::vector<std::string>{"x"});
}

TEST_F(AcceptorTest, HandleHeartbeat_CommitDoesNotTrustOlderBallot) {
  (void)Send(2, Accept({5, 2}, 1, Batch("x")), After());
  Ready r = Send(3, Heartbeat({6, 3}, 1), After() + 300 * kMs);
  EXPECT_TRUE(r.committed.empty());
  core_.Tick(After() + 301 * kMs);
  r = core_.TakeReady();
  bool asked = false;
  for (const Envelope& e : r.messages) {
    asked |= e.msg.type == MsgType::kCatchupRequest && e.msg.slot == 1;
  }
  EXPECT_TRUE(asked);
}

TEST_F(AcceptorTest, HandlePreVote_DeniedWhileLeaderAlive) {
  (void)Send(2, Heartbeat({3, 2}, 0), After());
  Message pv;
  pv.type = MsgType::kPreVote;
  pv.slot = 1;
  Ready r = Send(3, pv, After() + 50 * kMs);
  EXPECT_FALSE(r.messages[0].msg.ok);
  r = Send(3, pv, After() + 200 * kMs);
  EXPECT_TRUE(r.messages[0].msg.ok);
}

// Regression (found by the simulation with slow fsyncs): candidates whose
// phase 1 outlasted the timeout spread preempted each other forever.
TEST_F(AcceptorTest, HandlePreVote_DeniedWhileACandidatePrepares) {
  (void)Send(2, Prepare({5, 2}), After());
  Message pv;
  pv.type = MsgType::kPreVote;
  pv.slot = 1;
  Ready r = Send(3, pv, After() + 50 * kMs);
  EXPECT_FALSE(r.messages[0].msg.ok);
}

// Regression (found by the simulation): a read barrier re-sent before the
// leader's reply arrived ignored that reply and was re-sent forever.
TEST_F(AcceptorTest, ReadBarrier_SlowReplyToEarlierBarrierStillCounts) {
  (void)Send(2, Heartbeat({3, 2}, 0), After());
  uint64_t read = core_.RequestRead(After());
  Ready r = core_.TakeReady();
  // The barrier, and the request for a follower read lease (never granted
  // here).
  ASSERT_EQ(r.messages.size(), 2u);
  ASSERT_EQ(r.messages[1].msg.type, MsgType::kReadIndexRequest);
  uint64_t first = r.messages[1].msg.id;
  core_.Tick(After() + 15 * kMs);  // Past the resend interval: a new barrier.
  r = core_.TakeReady();
  Message reply;
  reply.type = MsgType::kReadIndexReply;
  reply.ok = true;
  reply.id = first;
  reply.index = 0;
  r = Send(2, reply, After() + 16 * kMs);
  EXPECT_EQ(r.reads_ready, std::vector<uint64_t>{read});
}

// Regression (found by the simulation): after a leader died having chosen
// slots nobody else knew were chosen, no replica ever asked for them. Every
// message now advertises the sender's chosen prefix.
TEST_F(AcceptorTest, AnyMessage_AdvertisedPrefixTriggersCatchup) {
  Message pv;
  pv.type = MsgType::kPreVote;
  pv.slot = 6;
  pv.commit = 5;
  (void)Send(2, pv, After());
  core_.Tick(After() + 1);
  Ready r = core_.TakeReady();
  bool asked = false;
  for (const Envelope& e : r.messages) {
    asked |= e.to == 2 && e.msg.type == MsgType::kCatchupRequest &&
             e.msg.slot == 1 && e.msg.index == 5;
  }
  EXPECT_TRUE(asked);
}

TEST(WipedDisk, NotAnAcceptorUntilReadmitted) {
  Config genesis = Genesis(3);
  Core core(TestOptions(1, genesis), PersistentState{}, 0);
  EXPECT_FALSE(core.IsAcceptor());
  EXPECT_NE(core.disk_id(), 1001u);
  Ready r = core.TakeReady();
  ASSERT_TRUE(r.metadata.has_value());  // The new disk id is persisted.
  EXPECT_EQ(r.metadata->disk_id, core.disk_id());
  Message prepare;
  prepare.type = MsgType::kPrepare;
  prepare.ballot = {5, 2};
  prepare.slot = 1;
  core.Step(Envelope{2, 1, prepare}, 300 * kMs);
  EXPECT_TRUE(core.TakeReady().messages.empty());
}

TEST(Compaction, CatchupBelowCompactedSignalsSnapshot) {
  Config genesis = Genesis(3);
  PersistentState disk = Bootstrapped(genesis, 1);
  disk.applied_index = 10;
  disk.compacted_index = 10;
  Core core(TestOptions(1, genesis), disk, 0);
  (void)core.TakeReady();
  Message req;
  req.type = MsgType::kCatchupRequest;
  req.slot = 5;
  req.index = 12;
  core.Step(Envelope{2, 1, req}, 0);
  Ready r = core.TakeReady();
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_FALSE(r.messages[0].msg.ok);
  EXPECT_EQ(r.messages[0].msg.index, 10u);
  // The requester surfaces it.
  Core peer(TestOptions(2, genesis), Bootstrapped(genesis, 2), 0);
  peer.Step(Envelope{1, 2, r.messages[0].msg}, 0);
  Ready pr = peer.TakeReady();
  ASSERT_TRUE(pr.snapshot_needed.has_value());
  EXPECT_EQ(pr.snapshot_needed->second, 10u);
}

// Node 2 of three, told by leader 3 that slots through 12 are chosen.
std::unique_ptr<Core> BehindLeaderThree() {
  Config genesis = Genesis(3);
  auto core = std::make_unique<Core>(TestOptions(2, genesis),
                                     Bootstrapped(genesis, 2), 0);
  Message hb;
  hb.type = MsgType::kHeartbeat;
  hb.ballot = {1, 3};
  hb.commit = 12;
  core->Step(Envelope{3, 2, hb}, 0);
  (void)core->TakeReady();
  return core;
}

// A catch-up reply that says: take a snapshot of at least `index`.
Message Refusal(uint64_t index) {
  Message m;
  m.type = MsgType::kCatchupReply;
  m.ok = false;
  m.index = index;
  m.commit = 12;
  return m;
}

// Found by the cluster tests: a node restarted after missing slots asked a
// peer restarted too, whose store had applied them but whose log lacked
// their chosen marks; that one refusal stopped the node to rebuild from a
// snapshot (its mount gone meanwhile) though the leader held every slot.
TEST(Compaction, OnePeerRefusing_AsksTheLeaderBeforeASnapshot) {
  std::unique_ptr<Core> core = BehindLeaderThree();
  core->Step(Envelope{1, 2, Refusal(1)}, 1 * kMs);
  EXPECT_FALSE(core->TakeReady().snapshot_needed.has_value())
      << "one peer's refusal asked for a snapshot while the leader may serve";
  for (int i = 1; i <= 2; ++i) {
    core->Tick(30 * i * kMs);
    for (const Envelope& e : core->TakeReady().messages) {
      EXPECT_FALSE(e.msg.type == MsgType::kCatchupRequest && e.to == 1)
          << "asked the peer that refused again";
    }
  }
  // The snapshot comes from whoever can give the newest.
  core->Step(Envelope{3, 2, Refusal(5)}, 70 * kMs);
  Ready r = core->TakeReady();
  ASSERT_TRUE(r.snapshot_needed.has_value());
  EXPECT_EQ(r.snapshot_needed->first, 3u);
  EXPECT_EQ(r.snapshot_needed->second, 5u);
}

// ... but a peer known to be ahead that never answers (it died) does not
// hold the node back for ever: after two election timeouts (100 ms here)
// the refusals it has are enough.
TEST(Compaction, LeaderRefusesAPeerIsSilent_SnapshotAfterTwoElectionTimeouts) {
  std::unique_ptr<Core> core = BehindLeaderThree();
  Message ahead;
  ahead.type = MsgType::kPreVote;
  ahead.slot = 13;
  ahead.commit = 12;
  core->Step(Envelope{1, 2, ahead}, 0);
  (void)core->TakeReady();
  core->Step(Envelope{3, 2, Refusal(1)}, 1 * kMs);
  EXPECT_FALSE(core->TakeReady().snapshot_needed.has_value());
  core->Tick(150 * kMs);
  EXPECT_FALSE(core->TakeReady().snapshot_needed.has_value())
      << "asked for a snapshot before the silent peer had its time";
  core->Tick(205 * kMs);
  Ready r = core->TakeReady();
  ASSERT_TRUE(r.snapshot_needed.has_value());
  EXPECT_EQ(r.snapshot_needed->first, 3u);
}

}  // namespace
}  // namespace paxosfs::replica
