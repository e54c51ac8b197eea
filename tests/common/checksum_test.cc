#include "common/checksum.h"

#include <gtest/gtest.h>

#include <string>

namespace paxosfs {
namespace {

TEST(ChecksumTest, KnownValueIsStable) {
  // XXH3-64 of the empty input; the value is part of on-disk formats, so a
  // library change that altered it must fail here.
  EXPECT_EQ(Checksum64(""), 0x2D06800538D394C2ull);
}

TEST(ChecksumTest, DetectsSingleBitFlip) {
  std::string data(4096, 'a');
  uint64_t before = Checksum64(data);
  for (size_t byte : {size_t{0}, size_t{2047}, size_t{4095}}) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = data;
      flipped[byte] = static_cast<char>(flipped[byte] ^ (1 << bit));
      EXPECT_NE(Checksum64(flipped), before) << byte << ":" << bit;
    }
  }
}

TEST(HasherTest, IncrementalEqualsOneShot) {
  std::string data = "the quick brown fox jumps over the lazy dog";
  Hasher h;
  h.Update(data.substr(0, 10));
  h.Update(data.substr(10));
  EXPECT_EQ(h.Digest(), Checksum64(data));
}

TEST(HasherTest, UpdateU64_IsLittleEndian) {
  Hasher h;
  h.UpdateU64(0x0102030405060708ull);
  EXPECT_EQ(h.Digest(),
            Checksum64(std::string("\x08\x07\x06\x05\x04\x03\x02\x01", 8)));
}

TEST(HasherTest, OrderMatters) {
  Hasher a, b;
  a.UpdateU64(1);
  a.UpdateU64(2);
  b.UpdateU64(2);
  b.UpdateU64(1);
  EXPECT_NE(a.Digest(), b.Digest());
}

}  // namespace
}  // namespace paxosfs
