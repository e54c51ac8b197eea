// The flag that lets writes and the kernel's per-write probe skip the store
// while no inode holds a security.capability xattr (fsm/filesystem.h,
// CapabilityFlag).
#include <sys/stat.h>

#include <cerrno>

#include "fsm/commands.h"
#include "fsm/filesystem.h"
#include "gtest/gtest.h"
#include "tests/fsm/fsm_harness.h"

namespace paxosfs::fsm {
namespace {

using testing::Harness;
using testing::Ok;
using testing::TempDir;
namespace cmd = testing::cmd;

constexpr uint64_t kMissingIno = 999;

proto::Command WriteAs(uint32_t uid, uint64_t ino, const std::string& data) {
  proto::Command c = cmd::Write(ino, 0, data);
  c.mutable_caller()->set_uid(uid);
  c.mutable_caller()->set_gid(uid);
  return c;
}

class CapabilityTest : public ::testing::Test {
 protected:
  CapabilityTest() : h_(dir_.path() + "/store.db") {}
  uint64_t MakeFile(Harness& h, const std::string& name) {
    proto::Result r = h.Do(cmd::Create(kRootIno, name, S_IFREG | 0644));
    EXPECT_EQ(r.error(), 0);
    return r.attr().ino();
  }
  proto::Result GetCap(uint64_t ino) {
    return Ok(h_.reader().GetXattr(ino, kCapabilityXattr));
  }

  TempDir dir_;
  Harness h_;
};

TEST_F(CapabilityTest, FreshStore_ProbeAnswersWithoutStore) {
  EXPECT_FALSE(h_.fs().TEST_MayHoldCapability());
  uint64_t f = MakeFile(h_, "f");
  ASSERT_EQ(h_.Do(cmd::SetXattr(f, "user.cap", "x")).error(), 0);
  EXPECT_EQ(h_.Do(WriteAs(1000, f, "data")).error(), 0);
  EXPECT_FALSE(h_.fs().TEST_MayHoldCapability());
  EXPECT_EQ(GetCap(f).error(), ENODATA);
  // The store is not read, so an inode that is gone answers ENODATA too
  // (the documented difference); other names still ask the store.
  EXPECT_EQ(GetCap(kMissingIno).error(), ENODATA);
  EXPECT_EQ(Ok(h_.reader().GetXattr(kMissingIno, "user.cap")).error(), ENOENT);
  EXPECT_EQ(Ok(h_.reader().GetXattr(f, "user.cap")).data(), "x");
}

TEST_F(CapabilityTest, FailedSetXattr_LeavesFlagDown) {
  uint64_t f = MakeFile(h_, "f");
  EXPECT_EQ(
      h_.Do(cmd::SetXattr(f, kCapabilityXattr, "c", kXattrReplace)).error(),
      ENODATA);
  EXPECT_EQ(h_.Do(cmd::SetXattr(kMissingIno, kCapabilityXattr, "c")).error(),
            ENOENT);
  EXPECT_FALSE(h_.fs().TEST_MayHoldCapability());
}

TEST_F(CapabilityTest, SetXattr_RaisesFlagAndWritesDropIt) {
  uint64_t f = MakeFile(h_, "f");
  uint64_t g = MakeFile(h_, "g");
  // The harness's reader was opened before the flag went up: it shares it.
  ASSERT_EQ(h_.Do(cmd::SetXattr(f, kCapabilityXattr, "caps")).error(), 0);
  ASSERT_EQ(h_.Do(cmd::SetXattr(g, kCapabilityXattr, "caps")).error(), 0);
  EXPECT_TRUE(h_.fs().TEST_MayHoldCapability());
  EXPECT_EQ(GetCap(f).data(), "caps");
  EXPECT_EQ(GetCap(kMissingIno).error(), ENOENT);
  EXPECT_EQ(h_.Do(WriteAs(1000, f, "data")).error(), 0);
  EXPECT_EQ(GetCap(f).error(), ENODATA);
  EXPECT_EQ(h_.Do(WriteAs(0, g, "data")).error(), 0);
  EXPECT_EQ(GetCap(g).error(), ENODATA);
  // Conservative: the flag stays up once no capability is left.
  EXPECT_TRUE(h_.fs().TEST_MayHoldCapability());
  ASSERT_EQ(h_.Do(cmd::SetXattr(f, kCapabilityXattr, "again")).error(), 0);
  auto late_reader = h_.fs().NewReader();
  ASSERT_TRUE(late_reader.ok());
  EXPECT_EQ(Ok((*late_reader)->GetXattr(f, kCapabilityXattr)).data(), "again");
}

TEST_F(CapabilityTest, Reopen_RecomputesFlagFromStore) {
  uint64_t f = MakeFile(h_, "f");
  ASSERT_EQ(h_.Do(cmd::SetXattr(f, kCapabilityXattr, "caps")).error(), 0);
  h_.Reopen();
  EXPECT_TRUE(h_.fs().TEST_MayHoldCapability());
  EXPECT_EQ(GetCap(f).data(), "caps");
  EXPECT_EQ(h_.Do(WriteAs(1000, f, "data")).error(), 0);
  EXPECT_EQ(GetCap(f).error(), ENODATA);
  h_.Reopen();
  EXPECT_FALSE(h_.fs().TEST_MayHoldCapability());
}

// One replica restarted after its last capability went (flag down, delete
// skipped), the other did not (flag up, delete run): the same slots leave
// them identical, as the skipped delete would have changed nothing.
TEST_F(CapabilityTest, Replicas_SameStateWithFlagUpOrDown) {
  TempDir other_dir;
  Harness other(other_dir.path() + "/store.db");
  auto both = [&](const proto::Command& c) {
    proto::Result a = h_.Do(c);
    proto::Result b = other.Do(c);
    EXPECT_EQ(a.SerializeAsString(), b.SerializeAsString());
  };
  both(cmd::Create(kRootIno, "f", S_IFREG | 0644));
  const uint64_t f = 2;
  both(cmd::SetXattr(f, kCapabilityXattr, "caps"));
  both(cmd::RemoveXattr(f, kCapabilityXattr));
  h_.Reopen();
  ASSERT_FALSE(h_.fs().TEST_MayHoldCapability());
  ASSERT_TRUE(other.fs().TEST_MayHoldCapability());
  both(WriteAs(1000, f, "data"));
  both(cmd::SetXattr(f, kCapabilityXattr, "caps"));
  both(WriteAs(1000, f, "more"));
  EXPECT_EQ(GetCap(f).error(), ENODATA);
  EXPECT_EQ(*h_.fs().Digest(), *other.fs().Digest());
}

}  // namespace
}  // namespace paxosfs::fsm
