// The Log contract, checked against every implementation.
#include <gtest/gtest.h>

#include "log/memory_log.h"
#include "log_test_util.h"

namespace paxosfs::log {
namespace {

struct MemoryLogFactory {
  std::unique_ptr<Log> Make() { return std::make_unique<MemoryLog>(); }
};

struct FileLogFactory {
  std::unique_ptr<Log> Make() { return MustOpen(&env); }
  FaultInjectionEnv env;
};

template <typename Factory>
class LogContractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_ = factory_.Make();
    ASSERT_NE(log_, nullptr);
  }
  Factory factory_;
  std::unique_ptr<Log> log_;
};

using Implementations = ::testing::Types<MemoryLogFactory, FileLogFactory>;
TYPED_TEST_SUITE(LogContractTest, Implementations);

TYPED_TEST(LogContractTest, Empty_SlotsAndMetadata) {
  EXPECT_EQ(this->log_->FirstSlot(), 1u);
  EXPECT_EQ(this->log_->LastSlot(), 0u);
  EXPECT_EQ(this->log_->Metadata(), "");
  EXPECT_EQ(this->log_->Get(1).status().code(), StatusCode::kNotFound);
}

TYPED_TEST(LogContractTest, Append_GetBeforeAndAfterSync) {
  Log& log = *this->log_;
  std::vector<Entry> entries = {MakeEntry(1), MakeEntry(2), MakeEntry(5)};
  ASSERT_TRUE(log.Append(entries).ok());
  EXPECT_EQ(*log.Get(2), entries[1]);  // Buffered records are readable.
  ASSERT_TRUE(log.Sync().ok());
  for (const Entry& e : entries) EXPECT_EQ(*log.Get(e.slot), e);
  EXPECT_EQ(log.Get(3).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(log.LastSlot(), 5u);
}

TYPED_TEST(LogContractTest, Append_LaterRecordSupersedes) {
  Log& log = *this->log_;
  ASSERT_TRUE(AppendOne(log, MakeEntry(4, 1)).ok());
  ASSERT_TRUE(AppendOne(log, MakeEntry(4, 2)).ok());
  ASSERT_TRUE(log.Sync().ok());
  Entry chosen = MakeEntry(4, 2, /*chosen=*/true);
  ASSERT_TRUE(AppendOne(log, chosen).ok());
  EXPECT_EQ(*log.Get(4), chosen);
}

// FileLog writes the first as a chosen mark and the others in full; callers
// must not be able to tell.
TYPED_TEST(LogContractTest, Append_ChosenAfterAccepted_GetReturnsChosen) {
  Log& log = *this->log_;
  Entry same = MakeEntry(1, 2, /*chosen=*/true);
  Entry other_ballot = MakeEntry(2, 2, /*chosen=*/true);
  other_ballot.ballot_node = 3;
  Entry other_value = MakeEntry(3, 2, /*chosen=*/true);
  other_value.value[0] ^= 1;
  std::vector<Entry> accepted = {MakeEntry(1, 2), MakeEntry(2, 2),
                                 MakeEntry(3, 2)};
  ASSERT_TRUE(log.Append(accepted).ok());
  ASSERT_TRUE(log.Sync().ok());
  std::vector<Entry> chosen = {same, other_ballot, other_value};
  ASSERT_TRUE(log.Append(chosen).ok());
  for (const Entry& e : chosen) EXPECT_EQ(*log.Get(e.slot), e);
  ASSERT_TRUE(log.Sync().ok());
  for (const Entry& e : chosen) EXPECT_EQ(*log.Get(e.slot), e);
}

TYPED_TEST(LogContractTest, Append_AcceptedAndChosenInOneBatch) {
  Log& log = *this->log_;
  std::vector<Entry> batch = {MakeEntry(7, 1), MakeEntry(7, 1, true),
                              MakeEntry(7, 1, true)};
  ASSERT_TRUE(log.Append(batch).ok());
  EXPECT_EQ(*log.Get(7), batch[1]);
}

TYPED_TEST(LogContractTest, Append_TooBig_InvalidArgument) {
  Entry e = MakeEntry(1);
  e.value.resize(kMaxValueBytes + 1);
  EXPECT_EQ(AppendOne(*this->log_, e).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(this->log_->Get(1).status().code(), StatusCode::kNotFound);
}

TYPED_TEST(LogContractTest, SetMetadata_LatestWins) {
  ASSERT_TRUE(this->log_->SetMetadata("promise 1").ok());
  ASSERT_TRUE(this->log_->SetMetadata("promise 2").ok());
  EXPECT_EQ(this->log_->Metadata(), "promise 2");
}

TYPED_TEST(LogContractTest, TruncatePrefix_DropsBelowKeepsRest) {
  Log& log = *this->log_;
  for (uint64_t s = 1; s <= 10; ++s)
    ASSERT_TRUE(AppendOne(log, MakeEntry(s)).ok());
  ASSERT_TRUE(log.TruncatePrefix(6).ok());
  EXPECT_EQ(log.FirstSlot(), 6u);
  EXPECT_EQ(log.Get(5).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*log.Get(6), MakeEntry(6));
  ASSERT_TRUE(log.TruncatePrefix(3).ok());  // Never moves back.
  EXPECT_EQ(log.FirstSlot(), 6u);
  ASSERT_TRUE(log.TruncatePrefix(20).ok());  // Past the end: empty log.
  EXPECT_EQ(log.LastSlot(), 19u);
}

TYPED_TEST(LogContractTest, Append_ChosenValueChanged_Dies) {
  Log& log = *this->log_;
  ASSERT_TRUE(AppendOne(log, MakeEntry(3, 1, /*chosen=*/true)).ok());
  ASSERT_TRUE(AppendOne(log, MakeEntry(4, 1)).ok());
  ASSERT_TRUE(AppendOne(log, MakeEntry(4, 1, /*chosen=*/true)).ok());
  EXPECT_DEATH((void)AppendOne(log, MakeEntry(4, 2, /*chosen=*/true)),
               "another value");
  EXPECT_DEATH((void)AppendOne(log, MakeEntry(3, 2, /*chosen=*/true)),
               "another value");
  EXPECT_DEATH((void)AppendOne(log, MakeEntry(3, 1, /*chosen=*/false)),
               "not chosen");
}

TYPED_TEST(LogContractTest, Append_BelowFirstSlot_Dies) {
  ASSERT_TRUE(this->log_->TruncatePrefix(5).ok());
  EXPECT_DEATH((void)AppendOne(*this->log_, MakeEntry(4)), "FirstSlot");
}

}  // namespace
}  // namespace paxosfs::log
