#include "cli/tls_files.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>

namespace paxosfs::cli {
namespace {

class TlsFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/paxosfs-tls-files.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  static int Mode(const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 07777)
                                        : -1;
  }
  std::string root_;
};

TEST_F(TlsFilesTest, CreateFounderTls_KeysAre0600AndTheDirectory0700) {
  std::string dir = root_ + "/n1";
  ASSERT_TRUE(CreateFounderTls(dir, "prod", 1, "").ok());
  EXPECT_EQ(Mode(TlsDir(dir)), 0700);
  for (const char* name : {"ca.crt", "ca.key", "node.crt", "node.key"}) {
    EXPECT_EQ(Mode(TlsDir(dir) + "/" + name), 0600) << name;
  }
  auto m = LoadNodeTls(dir, "prod", 1);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(tls::ParseNodeCert(m->cert_pem)->node_id, 1u);
}

TEST_F(TlsFilesTest, CreateFounderTls_CaFrom_SharesTheCa) {
  ASSERT_TRUE(CreateFounderTls(root_ + "/n1", "prod", 1, "").ok());
  ASSERT_TRUE(
      CreateFounderTls(root_ + "/n2", "prod", 2, TlsDir(root_ + "/n1")).ok());
  auto one = LoadNodeTls(root_ + "/n1");
  auto two = LoadNodeTls(root_ + "/n2", "prod", 2);
  ASSERT_TRUE(one.ok() && two.ok()) << two.status().ToString();
  EXPECT_EQ(one->ca_pem, two->ca_pem);
  EXPECT_TRUE(tls::VerifySignedBy(two->cert_pem, one->ca_pem).ok());
}

TEST_F(TlsFilesTest,
       CreateFounderTls_CaOfAnotherCluster_RefusedNothingWritten) {
  ASSERT_TRUE(CreateFounderTls(root_ + "/n1", "prod", 1, "").ok());
  Status s =
      CreateFounderTls(root_ + "/n2", "staging", 2, TlsDir(root_ + "/n1"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("--ca-from"), std::string::npos) << s.message();
  EXPECT_FALSE(std::filesystem::exists(root_ + "/n2"));
}

TEST_F(TlsFilesTest, CreateFounderTls_CaFromWithoutKey_NotFound) {
  std::filesystem::create_directories(root_ + "/empty");
  Status s = CreateFounderTls(root_ + "/n2", "prod", 2, root_ + "/empty");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("ca.key"), std::string::npos) << s.message();
}

TEST_F(TlsFilesTest, LoadNodeTls_OtherNodesFiles_SaysWhose) {
  ASSERT_TRUE(CreateFounderTls(root_ + "/n1", "prod", 1, "").ok());
  auto m = LoadNodeTls(root_ + "/n1", "prod", 2);
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find("node 1's"), std::string::npos)
      << m.status().message();
}

TEST_F(TlsFilesTest, LoadNodeTls_Missing_SaysWhatMakesThem) {
  auto m = LoadNodeTls(root_ + "/none");
  EXPECT_EQ(m.status().code(), StatusCode::kNotFound);
  EXPECT_NE(m.status().message().find("paxosfs init"), std::string::npos);
}

TEST_F(TlsFilesTest, LoadCa_NodeWithoutCa_NotFound) {
  EXPECT_EQ(LoadCa(root_).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace paxosfs::cli
