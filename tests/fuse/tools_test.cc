// Real tools on a real mount: what users' workflows rely on. Each test runs
// a script of tests/fuse/tools/ against the mount (MNT) with scratch space
// on the local disk (ROOT) and fails with the script's output.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tests/fuse/mount_fixture.h"

namespace paxosfs::fuse {
namespace {

class ToolsTest : public MountFixture {
 protected:
  // Runs tools/`name` with bash -euo pipefail; returns its exit code and
  // leaves its output in output_.
  int Run(const std::string& name) {
    std::string log = root_ + "/script.log";
    std::string command =
        "cd '" + root_ + "' && MNT='" + mnt_ + "' ROOT='" + root_ +
        "' TOOLS='" PAXOSFS_TOOLS_DIR "'" + " timeout 300 bash -euo pipefail " +
        PAXOSFS_TOOLS_DIR "/" + name + " > '" + log + "' 2>&1";
    int rc = std::system(command.c_str());
    std::stringstream s;
    s << std::ifstream(log).rdbuf();
    output_ = s.str();
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }

  std::string output_;
};

TEST_F(ToolsTest, Git_InitCommitFsck) {
  EXPECT_EQ(Run("git.sh"), 0) << output_;
}

TEST_F(ToolsTest, TarExtract_MatchesSource) {
  EXPECT_EQ(Run("tar.sh"), 0) << output_;
}

TEST_F(ToolsTest, CopyRoundTrip_CpAndRsync) {
  EXPECT_EQ(Run("copy.sh"), 0) << output_;
}

TEST_F(ToolsTest, Sqlite_TenThousandRows) {
  EXPECT_EQ(Run("sqlite.sh"), 0) << output_;
}

}  // namespace
}  // namespace paxosfs::fuse
