// Applied values live only in the log: the core hands them out as
// value_in_log entries, and FillValuesFromLog puts the bytes back.
#include "replica/core/log_values.h"

#include <gtest/gtest.h>

#include "replica/core/codec.h"
#include "tests/replica/core_test_util.h"

namespace paxosfs::replica {
namespace {

class LogValuesTest : public ::testing::Test {
 protected:
  // A one-voter cluster (node 1) with learner 2, one command applied.
  void SetUp() override {
    core_ = std::make_unique<Core>(TestOptions(1, genesis_),
                                   Bootstrapped(genesis_, 1), 0);
    int64_t now = 0;
    for (int i = 0; i < 100 && core_->role() != Role::kLeader; ++i) {
      now += 5 * kMs;
      core_->Tick(now);
      Keep(core_->TakeReady());
    }
    ASSERT_EQ(core_->role(), Role::kLeader);
    ASSERT_TRUE(core_->Propose("payload", now).ok());
    Ready r = core_->TakeReady();
    Keep(r);
    ASSERT_FALSE(r.committed.empty());
    slot_ = r.committed.back().slot;
    value_ = r.committed.back().value;
  }

  void Keep(const Ready& r) {
    for (const LogRecord& rec : r.records) log_[rec.slot] = rec;
  }

  // The reply `core` sends learner 2 asking for everything through slot_.
  Message CatchupReply(Core& core) {
    Message m;
    m.type = MsgType::kCatchupRequest;
    m.slot = 1;
    m.index = slot_;
    core.Step(Envelope{2, 1, m}, 10 * kMs);
    Ready r = core.TakeReady();
    for (Envelope& e : r.messages) {
      if (e.msg.type == MsgType::kCatchupReply) return e.msg;
    }
    ADD_FAILURE() << "no catch-up reply";
    return {};
  }

  RecordReader Reader() {
    return [this](uint64_t slot) -> StatusOr<LogRecord> {
      auto it = log_.find(slot);
      if (it == log_.end()) return Status::NotFound("no record");
      return it->second;
    };
  }

  Config genesis_ = [] {
    Config c = Genesis(1);
    c.learners.push_back(2);
    return c;
  }();
  std::unique_ptr<Core> core_;
  std::map<uint64_t, LogRecord> log_;
  uint64_t slot_ = 0;
  std::string value_;
};

TEST_F(LogValuesTest, AppliedSlotLeavesTheCoreWithoutItsValue) {
  Message reply = CatchupReply(*core_);
  ASSERT_FALSE(reply.entries.empty());
  const WireEntry& e = reply.entries.back();
  EXPECT_EQ(e.slot, slot_);
  EXPECT_TRUE(e.value_in_log);
  EXPECT_TRUE(e.value.empty());
}

TEST_F(LogValuesTest, FillPutsTheLoggedValueBack) {
  Message reply = CatchupReply(*core_);
  ASSERT_TRUE(FillValuesFromLog(reply, Reader()).ok());
  EXPECT_FALSE(reply.entries.back().value_in_log);
  EXPECT_EQ(reply.entries.back().value, value_);
  auto decoded = DecodeMessage(EncodeMessage(reply));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->entries.back().value, value_);
}

TEST_F(LogValuesTest, FillRefusesAMissingRecord) {
  Message reply = CatchupReply(*core_);
  log_.erase(slot_);
  EXPECT_EQ(FillValuesFromLog(reply, Reader()).code(), StatusCode::kNotFound);
}

TEST_F(LogValuesTest, FillRefusesARecordOfAnotherBallot) {
  Message reply = CatchupReply(*core_);
  log_[slot_].ballot.round += 1;
  EXPECT_EQ(FillValuesFromLog(reply, Reader()).code(), StatusCode::kCorruption);
}

TEST_F(LogValuesTest, EncodingAnUnfilledEntryStops) {
  Message reply = CatchupReply(*core_);
  EXPECT_DEATH(EncodeMessage(reply), "not filled");
}

TEST_F(LogValuesTest, RestartKeepsAppliedValuesOnDisk) {
  PersistentState disk;
  disk.metadata = Core::BootstrapMetadata(genesis_, 1);
  for (const auto& [slot, rec] : log_) {
    LogRecord r = rec;
    if (r.chosen) {
      r.value_in_log = true;
      r.value_size = r.value.size();
      r.value.clear();
    }
    disk.records.push_back(r);
  }
  disk.applied_index = slot_;
  Core restarted(TestOptions(1, genesis_), std::move(disk), 0);
  EXPECT_EQ(restarted.chosen_prefix(), slot_);
  Message reply = CatchupReply(restarted);
  ASSERT_FALSE(reply.entries.empty());
  EXPECT_TRUE(reply.entries.back().value_in_log);
  ASSERT_TRUE(FillValuesFromLog(reply, Reader()).ok());
  EXPECT_EQ(reply.entries.back().value, value_);
}

// The store committed the applied slot, but its chosen mark never reached
// the log (marks wait for the next sync): the restarted node cannot vouch
// for the value, so it sends the asking peer to a snapshot rather than
// skipping the slot (which made the peer ask again at once, forever).
TEST_F(LogValuesTest, AppliedSlotWithoutChosenMark_PeerSentToASnapshot) {
  PersistentState disk;
  disk.metadata = Core::BootstrapMetadata(genesis_, 1);
  for (const auto& [slot, rec] : log_) {
    LogRecord r = rec;
    r.chosen = false;
    disk.records.push_back(r);
  }
  disk.applied_index = slot_;
  Core restarted(TestOptions(1, genesis_), std::move(disk), 0);
  ASSERT_EQ(restarted.chosen_prefix(), slot_);
  Message reply = CatchupReply(restarted);
  EXPECT_FALSE(reply.ok);
  EXPECT_TRUE(reply.entries.empty());
  EXPECT_GE(reply.index, 1u);
  EXPECT_LE(reply.index, slot_);
}

}  // namespace
}  // namespace paxosfs::replica
