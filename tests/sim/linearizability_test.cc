#include "tests/sim/linearizability.h"

#include <gtest/gtest.h>

namespace paxosfs::sim {
namespace {

Op Write(uint64_t v, uint64_t old, int64_t inv, int64_t resp) {
  Op op;
  op.write = true;
  op.value = v;
  op.old = old;
  op.invoke_ns = inv;
  op.response_ns = resp;
  return op;
}

Op Read(uint64_t v, int64_t inv, int64_t resp) {
  Op op;
  op.value = v;
  op.invoke_ns = inv;
  op.response_ns = resp;
  return op;
}

TEST(CheckLinearizable, SequentialHistory) {
  std::string why;
  EXPECT_TRUE(CheckLinearizable(
      {Write(1, 0, 0, 10), Read(1, 20, 30), Write(2, 1, 40, 50)}, &why));
}

TEST(CheckLinearizable, StaleReadAfterWriteReturned) {
  std::string why;
  EXPECT_FALSE(CheckLinearizable({Write(1, 0, 0, 10), Read(0, 20, 30)}, &why));
  EXPECT_NE(why.find("get 0"), std::string::npos);
}

TEST(CheckLinearizable, ConcurrentReadMaySeeEither) {
  std::string why;
  EXPECT_TRUE(CheckLinearizable(
      {Write(1, 0, 0, 100), Read(0, 10, 20), Read(1, 30, 40)}, &why));
}

TEST(CheckLinearizable, ReadsMustNotGoBackInTime) {
  std::string why;
  EXPECT_FALSE(CheckLinearizable(
      {Write(1, 0, 0, 100), Read(1, 10, 20), Read(0, 30, 40)}, &why));
}

TEST(CheckLinearizable, PendingWriteMayTakeEffectLater) {
  std::string why;
  Op pending = Write(1, 0, 0, Op::kPending);
  EXPECT_TRUE(
      CheckLinearizable({pending, Read(0, 10, 20), Read(1, 500, 600)}, &why));
  EXPECT_TRUE(CheckLinearizable({pending, Read(0, 10, 20)}, &why));
}

TEST(CheckLinearizable, WriteMustReplaceTheValueItReports) {
  std::string why;
  EXPECT_FALSE(
      CheckLinearizable({Write(1, 0, 0, 10), Write(2, 0, 20, 30)}, &why));
}

}  // namespace
}  // namespace paxosfs::sim
