#include "common/status.h"

#include <gtest/gtest.h>

#include <memory>

namespace paxosfs {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.ToString(), "ok");
}

TEST(StatusTest, ToString_CodeAndMessage) {
  Status s = Status::Corruption("bad checksum at offset 4096");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.ToString(), "corruption: bad checksum at offset 4096");
}

TEST(StatusTest, WithContext_KeepsCodePrefixesMessage) {
  Status s = Status::NoSpace("write failed").WithContext("log segment 7");
  EXPECT_EQ(s.code(), StatusCode::kNoSpace);
  EXPECT_EQ(s.message(), "log segment 7: write failed");
}

TEST(StatusTest, WithContext_OkStaysOk) {
  EXPECT_TRUE(Status::Ok().WithContext("anything").ok());
}

TEST(StatusTest, EveryCodeHasAName) {
  for (int c = 0; c <= static_cast<int>(StatusCode::kPermissionDenied); ++c) {
    EXPECT_NE(StatusCodeName(static_cast<StatusCode>(c)), "unknown") << c;
  }
}

Status FailsThenNeverReached(bool* reached) {
  PAXOSFS_RETURN_IF_ERROR(Status::IOError("disk"));
  *reached = true;
  return Status::Ok();
}

TEST(StatusTest, ReturnIfError_ReturnsEarly) {
  bool reached = false;
  Status s = FailsThenNeverReached(&reached);
  EXPECT_EQ(s.code(), StatusCode::kIOError);
  EXPECT_FALSE(reached);
}

TEST(StatusOrTest, HoldsValue) {
  StatusOr<std::string> v(std::string("hello"));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, "hello");
  EXPECT_EQ(v->size(), 5u);
}

TEST(StatusOrTest, HoldsError) {
  StatusOr<int> v(Status::NotFound("no such slot"));
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kNotFound);
}

TEST(StatusOrTest, MovesOutMoveOnlyValue) {
  StatusOr<std::unique_ptr<int>> v(std::make_unique<int>(7));
  std::unique_ptr<int> p = std::move(v).value();
  EXPECT_EQ(*p, 7);
}

TEST(StatusOrDeathTest, ValueOfErrorAborts) {
  StatusOr<int> v(Status::IOError("x"));
  EXPECT_DEATH((void)v.value(), "invariant violated");
}

TEST(StatusOrDeathTest, ConstructedFromOkStatusAborts) {
  EXPECT_DEATH(StatusOr<int>{Status::Ok()}, "invariant violated");
}

}  // namespace
}  // namespace paxosfs
