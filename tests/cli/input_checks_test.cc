#include "cli/input_checks.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli/dir_claim.h"

namespace paxosfs::cli {
namespace {

TEST(CheckAddressTest, Valid) {
  for (const char* good :
       {"127.0.0.1:1", "node-1.example.org:7000", "[::1]:65535", "a:7000"}) {
    EXPECT_TRUE(CheckAddress(good).ok()) << good;
  }
}

TEST(CheckAddressTest, Invalid_SaysWhatIsWrong) {
  struct Case {
    const char* address;
    const char* why;
  };
  for (Case c : {Case{"", "is empty"}, Case{"10.0.0.1", "has no port"},
                 Case{":7000", "no host"}, Case{"h:0", "port '0'"},
                 Case{"h:65536", "port '65536'"}, Case{"h:7x", "port '7x'"},
                 Case{"h:", "port ''"}, Case{"::1:7000", "brackets"},
                 Case{"[zz]:7000", "IPv6"}, Case{"a/b:7000", "'/'"}}) {
    Status s = CheckAddress(c.address);
    ASSERT_FALSE(s.ok()) << c.address;
    EXPECT_NE(s.message().find(c.why), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("HOST:PORT"), std::string::npos);
  }
}

TEST(CheckClusterIdTest, ValidAndInvalid) {
  EXPECT_TRUE(CheckClusterId("prod-1.a_b").ok());
  EXPECT_FALSE(CheckClusterId("").ok());
  EXPECT_FALSE(CheckClusterId("a b").ok());
  EXPECT_FALSE(CheckClusterId("a\nnode_id=2").ok());
  EXPECT_FALSE(CheckClusterId(std::string(65, 'a')).ok());
}

TEST(ParseWholeNumberTest, BoundsSignsAndOverflow) {
  EXPECT_EQ(ParseWholeNumber("0", 0, 10, "").value(), 0u);
  EXPECT_EQ(ParseWholeNumber("18446744073709551615", 1, UINT64_MAX, "").value(),
            UINT64_MAX);
  for (const char* bad :
       {"", "-1", "+1", "1.5", "1e3", "11", "18446744073709551616", " 1"}) {
    EXPECT_FALSE(ParseWholeNumber(bad, 0, 10, "MiB").ok()) << bad;
  }
  Status s = ParseWholeNumber("x", 1, 9, "nodes").status();
  EXPECT_EQ(s.message(), "'x' is not a whole number from 1 to 9 (nodes)");
}

class DirClaimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("dir_claim_test." + std::to_string(getpid()));
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::filesystem::path root_;
};

TEST_F(DirClaimTest, Make_NewPathIsRemovedWithItsParents) {
  std::string dir = root_ / "a/b/c";
  {
    auto claim = DirClaim::Make(dir, "--data");
    ASSERT_TRUE(claim.ok()) << claim.status().ToString();
    std::ofstream(dir + "/file") << "x";
  }
  EXPECT_FALSE(std::filesystem::exists(root_ / "a"));
  EXPECT_TRUE(std::filesystem::exists(root_));
}

TEST_F(DirClaimTest, Make_EmptyDirectoryIsEmptiedButKept) {
  std::string dir = root_ / "empty";
  std::filesystem::create_directory(dir);
  {
    auto claim = DirClaim::Make(dir, "--data");
    ASSERT_TRUE(claim.ok());
    std::filesystem::create_directory(dir + "/tls");
  }
  EXPECT_TRUE(std::filesystem::is_directory(dir));
  EXPECT_TRUE(std::filesystem::is_empty(dir));
}

TEST_F(DirClaimTest, Keep_LeavesEverything) {
  std::string dir = root_ / "kept";
  {
    auto claim = DirClaim::Make(dir, "--data");
    ASSERT_TRUE(claim.ok());
    (*claim)->Keep();
  }
  EXPECT_TRUE(std::filesystem::is_directory(dir));
}

TEST_F(DirClaimTest, Make_RefusesFilesAndNonEmptyDirectoriesUntouched) {
  std::string file = root_ / "file";
  std::ofstream(file) << "x";
  auto claim = DirClaim::Make(file, "--data");
  ASSERT_FALSE(claim.ok());
  EXPECT_NE(claim.status().message().find("--data " + file + " is a file"),
            std::string::npos);
  std::string full = root_ / "full";
  std::filesystem::create_directories(full + "/tls");
  claim = DirClaim::Make(full, "--data");
  ASSERT_FALSE(claim.ok());
  EXPECT_NE(claim.status().message().find("interrupted"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(full + "/tls"));
}

}  // namespace
}  // namespace paxosfs::cli
