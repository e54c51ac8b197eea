#include "log/format.h"

#include <gtest/gtest.h>

namespace paxosfs::log {
namespace {

TEST(FormatTest, EntryRecord_RoundTrip) {
  Entry e{.slot = 7, .ballot_round = 3, .ballot_node = 2, .chosen = true,
          .value = "hello"};
  std::string rec;
  AppendEntryRecord(e, &rec);
  ASSERT_EQ(rec.size(), kRecordHeaderBytes + kEntryFixedBytes + 5);
  std::optional<RecordHeader> h = DecodeHeader(rec);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->type, RecordType::kEntry);
  std::string_view payload = std::string_view(rec).substr(kRecordHeaderBytes);
  EXPECT_TRUE(PayloadMatches(*h, payload));
  EXPECT_EQ(DecodeEntry(payload), e);
}

}  // namespace
}  // namespace paxosfs::log
