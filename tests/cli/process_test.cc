#include "cli/process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace paxosfs::cli {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class ProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/paxosfs-process-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::string Log() {
    std::stringstream s;
    s << std::ifstream(root_ + "/log").rdbuf();
    return s.str();
  }
  std::string root_;
};

TEST_F(ProcessTest, Spawn_CapturesOutputAndExitCode) {
  auto child = Spawn({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"},
                     root_ + "/log");
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  int status = 0;
  ASSERT_TRUE(WaitExit(child->pid, seconds(10), &status));
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3);
  EXPECT_EQ(Log(), "out\nerr\n");
}

TEST_F(ProcessTest, Stop_PoliteChildExitsOnTerm) {
  auto child = Spawn({"/bin/sleep", "30"}, root_ + "/log");
  ASSERT_TRUE(child.ok());
  pid_t pid = child->pid;
  auto start = std::chrono::steady_clock::now();
  Stop(&*child, seconds(10));
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(5));
  EXPECT_EQ(child->pid, -1);
  EXPECT_NE(kill(pid, 0), 0) << "child still exists";
}

TEST_F(ProcessTest, Stop_StubbornChildIsKilledAfterGrace) {
  auto child = Spawn({"/bin/sh", "-c", "trap '' TERM; echo armed; sleep 30"},
                     root_ + "/log");
  ASSERT_TRUE(child.ok());
  // Wait until the trap is installed, or SIGTERM would end it politely.
  for (int i = 0; i < 500 && Log().empty(); ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_EQ(Log(), "armed\n");
  pid_t pid = child->pid;
  Stop(&*child, milliseconds(200));
  EXPECT_NE(kill(pid, 0), 0) << "child survived";
}

TEST_F(ProcessTest, Spawn_MissingBinary_Exit127) {
  auto child = Spawn({"/nonexistent/binary"}, root_ + "/log");
  ASSERT_TRUE(child.ok());
  int status = 0;
  ASSERT_TRUE(WaitExit(child->pid, seconds(10), &status));
  EXPECT_EQ(WEXITSTATUS(status), 127);
}

}  // namespace
}  // namespace paxosfs::cli
