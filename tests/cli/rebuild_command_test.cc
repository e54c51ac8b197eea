#include "cli/rebuild_command.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/data_dir.h"
#include "cli/rebuild.h"
#include "log/file_log.h"
#include "replica/core/codec.h"

namespace paxosfs::cli {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void Put(const std::string& path, const std::string& data) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << data;
}

class RebuildCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/paxosfs-rebuild-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string dir_;
};

TEST_F(RebuildCommandTest, MoveDamagedAside_MovesLogAndStore_KeepsTheRest) {
  Put(dir_ + "/identity", "id");
  Put(dir_ + "/tls/node.key", "key");
  Put(dir_ + "/log/segment-00000000000000000001.log", "damaged log");
  Put(dir_ + "/state.db", "damaged store");
  Put(dir_ + "/state.db-wal", "wal");
  Put(dir_ + "/state.db-shm", "shm");
  auto aside = MoveDamagedAside(dir_, 0);
  ASSERT_TRUE(aside.ok()) << aside.status().ToString();
  EXPECT_EQ(*aside, dir_ + "/corrupt-19700101T000000Z");
  EXPECT_EQ(Slurp(*aside + "/log/segment-00000000000000000001.log"),
            "damaged log");
  EXPECT_EQ(Slurp(*aside + "/state.db"), "damaged store");
  EXPECT_EQ(Slurp(*aside + "/state.db-wal"), "wal");
  EXPECT_EQ(Slurp(*aside + "/state.db-shm"), "shm");
  EXPECT_FALSE(fs::exists(LogDir(dir_)));
  EXPECT_FALSE(fs::exists(StorePath(dir_)));
  EXPECT_FALSE(fs::exists(StorePath(dir_) + "-wal"));
  EXPECT_EQ(Slurp(dir_ + "/identity"), "id");
  EXPECT_EQ(Slurp(dir_ + "/tls/node.key"), "key");
}

TEST_F(RebuildCommandTest, MoveDamagedAside_OnlyTheStore_MovesWhatExists) {
  Put(dir_ + "/state.db", "damaged store");
  auto aside = MoveDamagedAside(dir_, 86400);
  ASSERT_TRUE(aside.ok()) << aside.status().ToString();
  EXPECT_EQ(*aside, dir_ + "/corrupt-19700102T000000Z");
  EXPECT_EQ(Slurp(*aside + "/state.db"), "damaged store");
  EXPECT_FALSE(fs::exists(*aside + "/log"));
}

TEST_F(RebuildCommandTest,
       MoveDamagedAside_SameSecondTwice_NothingOverwritten) {
  Put(dir_ + "/state.db", "first");
  ASSERT_TRUE(MoveDamagedAside(dir_, 0).ok());
  Put(dir_ + "/state.db", "second");
  auto again = MoveDamagedAside(dir_, 0);
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(Slurp(dir_ + "/corrupt-19700101T000000Z/state.db"), "first");
  EXPECT_EQ(Slurp(dir_ + "/state.db"), "second");
}

TEST_F(RebuildCommandTest, CheckNodeStopped_LogOpen_Unavailable) {
  EXPECT_TRUE(CheckNodeStopped(dir_).ok()) << "no log yet";
  auto log = log::OpenFileLog(log::PosixEnv(), LogDir(dir_));
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  Status running = CheckNodeStopped(dir_);
  EXPECT_EQ(running.code(), StatusCode::kUnavailable);
  EXPECT_NE(running.message().find("stop it first"), std::string::npos)
      << running.message();
  log->reset();
  EXPECT_TRUE(CheckNodeStopped(dir_).ok());
}

TEST_F(RebuildCommandTest, WriteFreshLog_HistoryAndANewDiskIdEachTime) {
  replica::Metadata history;
  replica::Config config;
  config.voters = {{1, 1}, {2, 2}};
  config.addresses = {{1, "a:1"}, {2, "b:2"}};
  config.next_node_id = 3;
  history.configs = {{0, config}};
  std::string encoded = replica::EncodeMetadata(history);
  fs::create_directories(dir_ + "/a");
  fs::create_directories(dir_ + "/b");
  auto first = WriteFreshLog(dir_ + "/a", encoded);
  auto second = WriteFreshLog(dir_ + "/b", encoded);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_NE(*first, 0u);
  EXPECT_NE(*first, *second);
  auto log = log::OpenFileLog(log::PosixEnv(), LogDir(dir_ + "/a"));
  ASSERT_TRUE(log.ok());
  auto meta = replica::DecodeMetadata((*log)->Metadata());
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->disk_id, *first);
  ASSERT_EQ(meta->configs.size(), 1u);
  EXPECT_EQ(meta->configs[0].second, config);
  EXPECT_EQ((*log)->LastSlot(), 0u) << "a fresh log holds no entries";
}

TEST_F(RebuildCommandTest, RevoteMark_SetThenCleared) {
  EXPECT_FALSE(RevoteDue(dir_));
  ASSERT_TRUE(MarkForRevote(dir_, 42).ok());
  EXPECT_TRUE(RevoteDue(dir_));
  ASSERT_TRUE(ClearRevote(dir_).ok());
  EXPECT_FALSE(RevoteDue(dir_));
  EXPECT_TRUE(ClearRevote(dir_).ok()) << "clearing twice is fine";
}

TEST_F(RebuildCommandTest, Run_NoNodeInDir_RefusedAndNothingMoved) {
  Put(dir_ + "/state.db", "not a node's");
  RebuildFlags flags;
  flags.data_dir = dir_;
  EXPECT_EQ(RunRebuild(flags), 1);
  EXPECT_EQ(Slurp(dir_ + "/state.db"), "not a node's");
}

TEST_F(RebuildCommandTest, Run_NodeWithoutTls_RefusedAndNothingMoved) {
  Identity id;
  id.cluster_id = "c";
  id.node_id = 2;
  id.listen = "127.0.0.1:1";
  id.members = {{1, "127.0.0.1:2"}, {2, "127.0.0.1:1"}};
  ASSERT_TRUE(CreateDataDir(dir_, id).ok());
  Put(dir_ + "/state.db", "damaged");
  RebuildFlags flags;
  flags.data_dir = dir_;
  EXPECT_EQ(RunRebuild(flags), 1);
  EXPECT_EQ(Slurp(dir_ + "/state.db"), "damaged");
}

}  // namespace
}  // namespace paxosfs::cli
