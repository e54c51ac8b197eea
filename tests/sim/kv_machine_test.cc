#include "tests/sim/kv_machine.h"

#include <gtest/gtest.h>

namespace paxosfs::sim {
namespace {

TEST(KvMachine, ApplyReturnsReplacedValue) {
  KvMachine kv;
  auto r = kv.Apply(1, {EncodePut({1, 1, 7, 100}), EncodePut({2, 1, 7, 200})});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(DecodeResult((*r)[0]), 0u);
  EXPECT_EQ(DecodeResult((*r)[1]), 100u);
  EXPECT_EQ(kv.Get(7), 200u);
}

TEST(KvMachine, ReproposedPutAppliesOnce) {
  KvMachine kv;
  ASSERT_TRUE(kv.Apply(1, {EncodePut({1, 1, 7, 100})}).ok());
  ASSERT_TRUE(kv.Apply(2, {EncodePut({2, 1, 7, 200})}).ok());
  auto r = kv.Apply(3, {EncodePut({1, 1, 7, 100})});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(DecodeResult((*r)[0]), 0u);  // The first result, again.
  EXPECT_EQ(kv.Get(7), 200u);
  EXPECT_TRUE(kv.Applied(1, 1));
  EXPECT_FALSE(kv.Applied(1, 2));
}

TEST(KvMachine, DigestDependsOnState) {
  KvMachine a, b;
  ASSERT_TRUE(a.Apply(1, {EncodePut({1, 1, 7, 100})}).ok());
  ASSERT_TRUE(b.Apply(1, {EncodePut({1, 1, 7, 101})}).ok());
  EXPECT_NE(a.Digest(), b.Digest());
}

}  // namespace
}  // namespace paxosfs::sim
