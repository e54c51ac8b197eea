#include "log/format.h"

#include <gtest/gtest.h>

namespace paxosfs::log {
namespace {

TEST(FormatTest, EntryRecord_RoundTrip) {
  Entry e{.slot = 7,
          .ballot_round = 3,
          .ballot_node = 2,
          .chosen = true,
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

TEST(FormatTest, DecodeHeader_FlippedLengthBit_Rejected) {
  std::string rec;
  AppendEntryRecord(Entry{.slot = 1, .value = "x"}, &rec);
  rec[16] ^= 0x04;  // The length: the header checksum must catch it.
  EXPECT_FALSE(DecodeHeader(rec).has_value());
}

TEST(FormatTest, PayloadMatches_FlippedValueBit_False) {
  std::string rec;
  AppendEntryRecord(Entry{.slot = 1, .value = "abcdef"}, &rec);
  rec[rec.size() - 2] ^= 0x01;
  std::optional<RecordHeader> h = DecodeHeader(rec);
  ASSERT_TRUE(h.has_value());
  EXPECT_FALSE(
      PayloadMatches(*h, std::string_view(rec).substr(kRecordHeaderBytes)));
}

TEST(FormatTest, DecodeHeader_ShortOrZero_Rejected) {
  EXPECT_FALSE(DecodeHeader(std::string(10, 'x')).has_value());
  EXPECT_FALSE(DecodeHeader(std::string(kRecordHeaderBytes, '\0')).has_value());
}

TEST(FormatTest, SegmentHeader_RoundTrip) {
  std::string rec;
  AppendSegmentHeaderRecord({.sequence = 9, .first_slot = 40, .metadata = "m"},
                            &rec);
  std::optional<RecordHeader> h = DecodeHeader(rec);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->type, RecordType::kSegmentHeader);
  std::optional<SegmentHeader> sh =
      DecodeSegmentHeader(std::string_view(rec).substr(kRecordHeaderBytes));
  ASSERT_TRUE(sh.has_value());
  EXPECT_EQ(sh->sequence, 9u);
  EXPECT_EQ(sh->first_slot, 40u);
  EXPECT_EQ(sh->metadata, "m");
}

TEST(FormatTest, ChosenMarkRecord_RoundTrip) {
  ChosenMark m{.slot = 7,
               .record_segment = 3,
               .record_offset = 4096,
               .value_checksum = 0x0123456789abcdef};
  std::string rec;
  AppendChosenMarkRecord(m, &rec);
  ASSERT_EQ(rec.size(), kRecordHeaderBytes + kChosenMarkPayloadBytes);
  std::optional<RecordHeader> h = DecodeHeader(rec);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->type, RecordType::kChosenMark);
  std::string_view payload = std::string_view(rec).substr(kRecordHeaderBytes);
  EXPECT_TRUE(PayloadMatches(*h, payload));
  std::optional<ChosenMark> got = DecodeChosenMark(payload);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->slot, 7u);
  EXPECT_EQ(got->record_segment, 3u);
  EXPECT_EQ(got->record_offset, 4096u);
  EXPECT_EQ(got->value_checksum, m.value_checksum);
  EXPECT_FALSE(DecodeChosenMark(payload.substr(1)).has_value());
}

// What FileLog compares a chosen entry against, without encoding it.
TEST(FormatTest, AcceptedPayloadChecksum_IsTheAcceptedRecordsChecksum) {
  Entry e{.slot = 7, .ballot_round = 3, .ballot_node = 2, .value = "hello"};
  std::string rec;
  AppendEntryRecord(e, &rec);
  EXPECT_EQ(EntryRecordBytes(e), rec.size());
  e.chosen = true;
  EXPECT_EQ(AcceptedPayloadChecksum(e), DecodeHeader(rec)->payload_checksum);
  e.ballot_node = 1;
  EXPECT_NE(AcceptedPayloadChecksum(e), DecodeHeader(rec)->payload_checksum);
}

TEST(FormatTest, SegmentFileName_ParsesBackAndSorts) {
  EXPECT_EQ(SegmentFileName(7), "segment-00000000000000000007.log");
  EXPECT_EQ(ParseSegmentFileName(SegmentFileName(123456)), 123456u);
  EXPECT_LT(SegmentFileName(9), SegmentFileName(10));
  EXPECT_FALSE(ParseSegmentFileName("segment-7.log").has_value());
  EXPECT_FALSE(ParseSegmentFileName("segment-0000000000000000000x.log"));
  EXPECT_FALSE(ParseSegmentFileName("notes.txt").has_value());
}

}  // namespace
}  // namespace paxosfs::log
