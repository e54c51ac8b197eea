#include "cli/space_guard.h"

#include <gtest/gtest.h>
#include <linux/falloc.h>

namespace paxosfs::cli {
namespace {

StatusOr<uint64_t> SizeIs100(uint64_t) { return uint64_t{100}; }

proto::Command Truncate(uint64_t size) {
  proto::Command c;
  c.mutable_setattr()->set_inode(5);
  c.mutable_setattr()->set_valid(proto::SETATTR_SIZE);
  c.mutable_setattr()->set_size(size);
  return c;
}

TEST(GrowsDataTest, GrowingCommands_Grow) {
  proto::Command c;
  c.mutable_create();
  EXPECT_TRUE(GrowsData(c, SizeIs100));
  c.mutable_mkdir();
  EXPECT_TRUE(GrowsData(c, SizeIs100));
  c.mutable_symlink();
  EXPECT_TRUE(GrowsData(c, SizeIs100));
  c.mutable_link();
  EXPECT_TRUE(GrowsData(c, SizeIs100));
  c.mutable_write();
  EXPECT_TRUE(GrowsData(c, SizeIs100));
  c.mutable_setxattr();
  EXPECT_TRUE(GrowsData(c, SizeIs100));
  c.mutable_fallocate()->set_mode(0);
  EXPECT_TRUE(GrowsData(c, SizeIs100));
}

TEST(GrowsDataTest, FreeingCommands_NeverGrow) {
  proto::Command c;
  c.mutable_unlink();
  EXPECT_FALSE(GrowsData(c, SizeIs100));
  c.mutable_rmdir();
  EXPECT_FALSE(GrowsData(c, SizeIs100));
  c.mutable_rename();
  EXPECT_FALSE(GrowsData(c, SizeIs100));
  c.mutable_removexattr();
  EXPECT_FALSE(GrowsData(c, SizeIs100));
  c.mutable_fallocate()->set_mode(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
  EXPECT_FALSE(GrowsData(c, SizeIs100));
}

TEST(GrowsDataTest, Truncate_GrowsOnlyWhenExtending) {
  EXPECT_FALSE(GrowsData(Truncate(0), SizeIs100));
  EXPECT_FALSE(GrowsData(Truncate(50), SizeIs100));
  EXPECT_FALSE(GrowsData(Truncate(100), SizeIs100));
  EXPECT_TRUE(GrowsData(Truncate(101), SizeIs100));
  // A chmod is not a size change.
  proto::Command chmod = Truncate(1000);
  chmod.mutable_setattr()->set_valid(proto::SETATTR_MODE);
  EXPECT_FALSE(GrowsData(chmod, SizeIs100));
}

TEST(SpaceGuardTest, Admit_BelowReserve_NoSpaceForGrowthOnly) {
  auto free = FreeBytes("/");
  ASSERT_TRUE(free.ok()) << free.status().ToString();
  // A reserve beyond what any disk has: always below it.
  SpaceGuard full("/", *free + (uint64_t{1} << 50));
  proto::Command write;
  write.mutable_write();
  Status s = full.Admit(write, SizeIs100);
  EXPECT_EQ(s.code(), StatusCode::kNoSpace) << s.ToString();
  EXPECT_NE(s.message().find("delete files"), std::string::npos);
  proto::Command unlink;
  unlink.mutable_unlink();
  EXPECT_TRUE(full.Admit(unlink, SizeIs100).ok());
  EXPECT_TRUE(full.Admit(Truncate(10), SizeIs100).ok());
}

TEST(SpaceGuardTest, Admit_NoReserveOrRoomLeft_AdmitsAll) {
  proto::Command write;
  write.mutable_write();
  EXPECT_TRUE(SpaceGuard("/", 0).Admit(write, SizeIs100).ok());
  EXPECT_TRUE(SpaceGuard("/", 1).Admit(write, SizeIs100).ok());
}

}  // namespace
}  // namespace paxosfs::cli
