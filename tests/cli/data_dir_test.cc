#include "cli/data_dir.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace paxosfs::cli {
namespace {

class DataDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/paxosfs-datadir-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/node1";
    id_.cluster_id = "c-42";
    id_.node_id = 1;
    id_.listen = "127.0.0.1:7001";
    id_.members = {{1, "127.0.0.1:7001"}, {2, "127.0.0.1:7002"}};
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::string root_, dir_;
  Identity id_;
};

TEST_F(DataDirTest, CreateThenRead_RoundTrip) {
  ASSERT_TRUE(CreateDataDir(dir_, id_).ok());
  auto read = ReadIdentity(dir_);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, id_);
}

TEST_F(DataDirTest, Create_Twice_Refused) {
  ASSERT_TRUE(CreateDataDir(dir_, id_).ok());
  Status s = CreateDataDir(dir_, id_);
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(s.message().find("cluster 'c-42'"), std::string::npos);
}

TEST_F(DataDirTest, Read_Missing_NotFoundSaysInit) {
  auto read = ReadIdentity(root_ + "/nothing");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kNotFound);
  EXPECT_NE(read.status().message().find("paxosfs init"), std::string::npos);
}

TEST_F(DataDirTest, Read_EditedFile_Corruption) {
  ASSERT_TRUE(CreateDataDir(dir_, id_).ok());
  std::string path = dir_ + "/identity";
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  std::string edited = text.str();
  edited.replace(edited.find("node_id=1"), 9, "node_id=2");
  std::ofstream(path, std::ios::trunc) << edited;
  auto read = ReadIdentity(dir_);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kCorruption);
  EXPECT_NE(read.status().message().find("checksum"), std::string::npos);
}

TEST(ParseMembersTest, Valid) {
  auto m = ParseMembers("1@a:1,2@b:2");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->size(), 2u);
  EXPECT_EQ((*m)[1].address, "b:2");
  EXPECT_EQ(FormatMembers(*m), "1@a:1,2@b:2");
}

TEST(ParseMembersTest, Invalid_SaysWhichAndHow) {
  for (const char* bad :
       {"", "a:1", "0@a:1", "x@a:1", "1@a", "1@a:", "1@a:0", "1@a:70000"}) {
    auto m = ParseMembers(bad);
    EXPECT_FALSE(m.ok()) << bad;
  }
  auto m = ParseMembers("1@a:1,1@b:2");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("twice"), std::string::npos);
  m = ParseMembers("1@a:1,oops");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("'oops'"), std::string::npos);
}

}  // namespace
}  // namespace paxosfs::cli
