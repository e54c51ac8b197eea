#include "replica/core/codec.h"

#include <gtest/gtest.h>

namespace paxosfs::replica {
namespace {

TEST(Codec, MessageRoundTrip) {
  Message m;
  m.type = MsgType::kPromise;
  m.ballot = {7, 3};
  m.promised = {9, 2};
  m.ok = true;
  m.complete = true;
  m.disk_id = 1234567890123ULL;
  m.slot = 42;
  m.index = 40;
  m.commit = 41;
  m.id = 5;
  m.sent_ns = -17;
  m.entries.push_back({43, {6, 1}, true, std::string("a\0b", 3)});
  std::string bytes = EncodeMessage(m);
  StatusOr<Message> back = DecodeMessage(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(EncodeMessage(*back), bytes);
  EXPECT_EQ(back->entries[0].value, std::string("a\0b", 3));
  EXPECT_EQ(back->sent_ns, -17);
}

TEST(Codec, AppendMessage_AllocatesOnceAfterThePrefix) {
  // An accept carrying five 1 MiB values: growing the buffer by doubling
  // (and copying each time) made a leader with concurrent large writers
  // spend more CPU here than anywhere else.
  Message m;
  m.type = MsgType::kAccept;
  m.ballot = {3, 1};
  for (uint64_t s = 1; s <= 5; ++s) {
    m.entries.push_back({s, {3, 1}, false, std::string(1 << 20, 'v')});
  }
  std::string body(1, 'c');
  AppendMessage(m, &body);
  EXPECT_EQ(body, "c" + EncodeMessage(m));
  EXPECT_LT(body.capacity(), body.size() + 4096);
  StatusOr<Message> back = DecodeMessage(std::string_view(body).substr(1));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->entries.size(), 5u);
}

TEST(Codec, TruncatedMessageIsCorruption) {
  Message m;
  m.type = MsgType::kAccept;
  m.entries.push_back({1, {1, 1}, false, "value"});
  std::string bytes = EncodeMessage(m);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodeMessage(bytes.substr(0, n)).ok()) << n;
  }
  EXPECT_FALSE(DecodeMessage(bytes + "x").ok());
}

TEST(Codec, ValueAndMetadataRoundTrip) {
  Value batch{Value::Kind::kBatch, {"x", "", "yz"}, {}};
  EXPECT_EQ(DecodeValue(EncodeValue(batch))->commands, batch.commands);
  Value config{Value::Kind::kConfig,
               {},
               {{{1, 11}, {2, 22}}, {3}, {{1, "a:1"}, {3, "c:3"}}, 4}};
  EXPECT_EQ(DecodeValue(EncodeValue(config))->config, config.config);
  Metadata meta{{4, 2}, 99, {{0, config.config}, {12, config.config}}};
  StatusOr<Metadata> back = DecodeMetadata(EncodeMetadata(meta));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->promised, meta.promised);
  EXPECT_EQ(back->disk_id, 99u);
  EXPECT_EQ(back->configs, meta.configs);
}

TEST(Codec, CheckValue_AcceptsWhatDecodeDoesWithoutTheCommands) {
  Value batch{Value::Kind::kBatch, {"x", "", "yz"}, {}};
  std::string bytes = EncodeValue(batch);
  StatusOr<Value> checked = CheckValue(bytes);
  ASSERT_TRUE(checked.ok());
  EXPECT_EQ(checked->kind, Value::Kind::kBatch);
  EXPECT_TRUE(checked->commands.empty());
  Value config{Value::Kind::kConfig, {}, {{{1, 11}}, {}, {{1, "a"}}, 2}};
  EXPECT_EQ(CheckValue(EncodeValue(config))->config, config.config);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(CheckValue(bytes.substr(0, n)).ok()) << n;
  }
  EXPECT_FALSE(CheckValue(bytes + "x").ok());
}

TEST(Codec, ConfigAddressesMustBeInIdOrder) {
  Value config{Value::Kind::kConfig, {}, {{{1, 11}}, {}, {{1, "a"}}, 2}};
  std::string bytes = EncodeValue(config);
  // Values: kind, 1 voter (1, 11), 0 learners, 1 address; duplicate the
  // address entry so ids repeat.
  std::string entry = std::string("\x01\x01", 2) + "a";
  std::string twice = bytes;
  twice.replace(twice.find(entry) - 1, 1, "\x02");
  twice.insert(twice.find(entry) + entry.size(), entry);
  EXPECT_FALSE(DecodeValue(twice).ok());
}

TEST(Codec, EncodingIsDeterministic) {
  Value v{Value::Kind::kBatch, {"same"}, {}};
  EXPECT_EQ(EncodeValue(v), EncodeValue(v));
}

}  // namespace
}  // namespace paxosfs::replica
