// A full disk and a failing fsync, with real processes: every node's data
// directory on a small loop-mounted ext4 of its own (root only), and an
// LD_PRELOAD shim (fail_fsync_shim.cc) that makes fsync fail with EIO.
// What must hold: writers get ENOSPC (never EIO, never success-then-lost),
// nothing fsynced is lost or differs between nodes, a node whose disk
// filled up comes back by itself once space returns, and a failed fsync
// is never reported as durable.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "cli/space_guard.h"
#include "tests/cluster/cluster.h"
#include "tests/cluster/files.h"

namespace paxosfs::testing {
namespace {

using std::chrono::seconds;
constexpr uint64_t kMiB = 1 << 20;
constexpr int kDiskMib = 192;
constexpr int kReserveMib = 24;

// Leaves `free_bytes` free on the file system of `disk` with one filler
// file (allocated, not sparse). False if it cannot.
bool FillDisk(const std::string& disk, uint64_t free_bytes) {
  auto free = cli::FreeBytes(disk);
  if (!free.ok() || *free <= free_bytes) return free.ok();
  int fd = open((disk + "/filler").c_str(), O_WRONLY | O_CREAT, 0600);
  if (fd < 0) return false;
  bool ok = posix_fallocate(fd, 0, static_cast<off_t>(*free - free_bytes)) == 0;
  return close(fd) == 0 && ok;
}

// Whether the file at `path` holds `want`; on a mismatch, says what it
// holds instead (its error, or its size) rather than megabytes of bytes.
::testing::AssertionResult SameAs(const std::string& path,
                                  const std::string& want) {
  std::string got = ReadFile(path);
  if (got == want) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << path << " differs: "
         << (got.size() < 80 ? got : std::to_string(got.size()) + " bytes")
         << " instead of " << want.size() << " bytes";
}

int CountOf(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

class DiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!LoopDisksAvailable(&why)) GTEST_SKIP() << why;
    NodeSetup setup;
    setup.disk_mib = kDiskMib;
    cluster_ = std::make_unique<Cluster>(
        3,
        std::vector<std::string>{"--reserve-mib", std::to_string(kReserveMib)},
        nullptr, setup);
    leader_ = cluster_->WaitReady(seconds(60));
    ASSERT_NE(leader_, 0) << cluster_->LogTail(1);
  }

  std::string Path(int node, const std::string& name) const {
    return cluster_->mount(node) + "/" + name;
  }

  std::unique_ptr<Cluster> cluster_;
  int leader_ = 0;
};

// All disks nearly full: the writer gets ENOSPC before any log fails; what
// was fsynced is intact everywhere; deleting works while full; once space
// returns writes succeed and every node converges.
TEST_F(DiskFullTest, AllNodesFull_WriterGetsEnospcAndRecovers) {
  std::vector<std::string> kept;
  for (int i = 0; i < 3; ++i) {
    kept.push_back(Pattern(kMiB, 100 + i));
    ASSERT_TRUE(WriteFile(Path(1, "kept" + std::to_string(i)), kept[i], true));
  }
  ASSERT_TRUE(cluster_->WaitConverged(seconds(30)));
  for (int n = 1; n <= 3; ++n) {
    ASSERT_TRUE(FillDisk(cluster_->disk(n), (kReserveMib + 24) * kMiB));
  }

  int fd = open(Path(1, "big").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0) << strerror(errno);
  std::string chunk = Pattern(kMiB, 7);
  int error = 0;
  uint64_t written = 0;
  while (error == 0 && written < 64 * kMiB) {
    if (write(fd, chunk.data(), chunk.size()) < 0) {
      error = errno;
    } else {
      written += chunk.size();
    }
  }
  EXPECT_EQ(fsync(fd), 0) << strerror(errno);
  close(fd);
  EXPECT_EQ(error, ENOSPC) << "after " << (written >> 20)
                           << " MiB: " << strerror(error);
  RecordProperty("mib_written_before_enospc", static_cast<int>(written >> 20));
  // Growing the data is refused; a new file too.
  EXPECT_EQ(WriteFileError(Path(1, "new"), "x", false), ENOSPC);
  EXPECT_NE(mkdir(Path(1, "dir").c_str(), 0755), 0);
  EXPECT_EQ(errno, ENOSPC);

  for (int n = 1; n <= 3; ++n) {
    for (int i = 0; i < 3; ++i) {
      EXPECT_TRUE(SameAs(Path(n, "kept" + std::to_string(i)), kept[i]))
          << "node " << n << " kept" << i;
    }
  }
  // Deleting frees space and is never refused.
  EXPECT_EQ(unlink(Path(2, "big").c_str()), 0) << strerror(errno);

  for (int n = 1; n <= 3; ++n) {
    ASSERT_EQ(unlink((cluster_->disk(n) + "/filler").c_str()), 0);
  }
  std::string after = Pattern(2 * kMiB, 9);
  EXPECT_TRUE(Eventually(
      [&] { return WriteFileError(Path(1, "after"), after, true) == 0; },
      seconds(30)));
  ASSERT_TRUE(cluster_->WaitConverged(seconds(60)));
  for (int n = 1; n <= 3; ++n) {
    EXPECT_TRUE(SameAs(Path(n, "after"), after)) << "node " << n;
    EXPECT_TRUE(SameAs(Path(n, "kept0"), kept[0])) << "node " << n;
    // The reserve kept every log writable: no node stopped.
    EXPECT_EQ(cluster_->Log(n).find("the log cannot be written"),
              std::string::npos)
        << cluster_->LogTail(n);
  }
}

// One follower's disk fills up under accepts the leader admitted: the
// others keep serving, the full node stops taking part and says why, and
// once space returns it restarts in place and catches up.
TEST_F(DiskFullTest, OneFollowerFull_StopsThenRestartsItselfAndCatchesUp) {
  int full = leader_ == 1 ? 2 : 1;
  pid_t pid = cluster_->Pid(full);
  ASSERT_TRUE(FillDisk(cluster_->disk(full), 8 * kMiB));

  std::vector<std::string> files;
  for (int i = 0; i < 24; ++i) {
    files.push_back(Pattern(kMiB, 200 + i));
    ASSERT_EQ(
        WriteFileError(Path(leader_, "f" + std::to_string(i)), files[i], true),
        0)
        << "write " << i << " through the leader";
  }
  ASSERT_TRUE(cluster_->WaitForLog(full, "out of disk space", seconds(30)))
      << cluster_->LogTail(full);
  std::string log = cluster_->Log(full);
  EXPECT_NE(log.find("the log cannot be written"), std::string::npos) << log;
  EXPECT_NE(log.find("restarts itself"), std::string::npos) << log;
  // On the stopped node every operation says why at once: ENOSPC, for a
  // stat too (its read barrier needs a node that takes part), never EIO.
  EXPECT_EQ(WriteFileError(Path(full, "refused"), "x", false), ENOSPC);
  struct stat st;
  EXPECT_NE(stat(Path(full, "f0").c_str(), &st), 0);
  EXPECT_EQ(errno, ENOSPC) << strerror(errno);
  auto stopped = cluster_->Status(full);
  ASSERT_TRUE(stopped.has_value());
  EXPECT_NE(stopped->problem().find("takes no part: no space left"),
            std::string::npos)
      << stopped->problem();

  ASSERT_EQ(unlink((cluster_->disk(full) + "/filler").c_str()), 0);
  ASSERT_TRUE(cluster_->WaitForLog(full, "again; restarting", seconds(30)))
      << cluster_->LogTail(full);
  EXPECT_TRUE(Eventually(
      [&] { return CountOf(cluster_->Log(full), "serving on") >= 2; },
      seconds(30)))
      << cluster_->LogTail(full);
  EXPECT_EQ(cluster_->Pid(full), pid);  // Restarted in place.
  EXPECT_EQ(kill(pid, 0), 0);
  ASSERT_TRUE(cluster_->WaitConverged(seconds(60))) << cluster_->LogTail(full);
  EXPECT_EQ(cluster_->Status(full)->problem(), "");
  for (int i = 0; i < 24; i += 5) {
    EXPECT_TRUE(SameAs(Path(full, "f" + std::to_string(i)), files[i]));
  }
}

// The shim's environment for a node: fsyncs of files whose path starts
// with `data` + `under` fail once `data`-fail-fsync exists.
std::vector<std::string> ShimPrefix(const std::string& data,
                                    const std::string& under) {
  std::string asan = "verify_asan_link_order=0";
  if (const char* given = std::getenv("ASAN_OPTIONS")) {
    asan = std::string(given) + ":" + asan;
  }
  return {"/usr/bin/env", std::string("LD_PRELOAD=") + PAXOSFS_FAIL_FSYNC_SHIM,
          "PAXOSFS_FAIL_FSYNC_PREFIX=" + data + under,
          "PAXOSFS_FAIL_FSYNC_TRIGGER=" + data + "-fail-fsync",
          "ASAN_OPTIONS=" + asan};
}

class FsyncFailTest : public ::testing::Test {
 protected:
  void Start(const std::string& under, std::vector<std::string> args) {
    NodeSetup setup;
    setup.prefix = [under](int, const std::string& data) {
      return ShimPrefix(data, under);
    };
    cluster_ = std::make_unique<Cluster>(3, std::move(args), nullptr, setup);
    leader_ = cluster_->WaitReady(seconds(60));
    ASSERT_NE(leader_, 0) << cluster_->LogTail(1);
  }
  void Trigger(int node) {
    std::ofstream(cluster_->data_dir(node) + "-fail-fsync") << "now\n";
  }
  void RestartWithoutShim(int node) {
    cluster_->SetCommandPrefix(node, {});
    cluster_->Start(node);
  }
  std::string Path(int node, const std::string& name) const {
    return cluster_->mount(node) + "/" + name;
  }

  std::unique_ptr<Cluster> cluster_;
  int leader_ = 0;
};

// The leader's log fsync fails: a write through it never succeeds unless a
// majority has it; the leader stops taking part and says so, another one
// is elected, and the node rejoins once restarted on a working disk.
TEST_F(FsyncFailTest, LeaderLogFsyncFails_NeverAcknowledgedAndClusterGoesOn) {
  Start("/log", {});
  int old = leader_;
  std::string before = Pattern(kMiB, 1);
  ASSERT_TRUE(WriteFile(Path(old, "before"), before, true));

  Trigger(old);
  std::string during = Pattern(kMiB, 2);
  int error = WriteFileError(Path(old, "during"), during, true);
  EXPECT_NE(error, 0) << "a write+fsync through a node whose log cannot be "
                         "synced reported success";
  EXPECT_TRUE(error == 0 || error == EIO) << strerror(error);
  ASSERT_TRUE(
      cluster_->WaitForLog(old, "the log cannot be written", seconds(30)));
  EXPECT_NE(cluster_->Log(old).find("check the disk"), std::string::npos)
      << cluster_->LogTail(old);

  int next = 0;
  ASSERT_TRUE(Eventually(
      [&] {
        for (int n = 1; n <= 3; ++n) {
          auto s = n == old ? std::nullopt : cluster_->Status(n);
          if (s && s->is_leader()) next = n;
        }
        return next != 0;
      },
      seconds(30)));
  std::string after = Pattern(kMiB, 3);
  ASSERT_TRUE(WriteFile(Path(next, "after"), after, true));

  cluster_->Kill9(old);
  for (int n = 1; n <= 3; ++n) {
    if (n == old) continue;
    EXPECT_TRUE(SameAs(Path(n, "before"), before)) << "node " << n;
    EXPECT_TRUE(SameAs(Path(n, "after"), after)) << "node " << n;
    if (error == 0) {
      EXPECT_TRUE(SameAs(Path(n, "during"), during));
    }
  }
  RestartWithoutShim(old);
  ASSERT_TRUE(cluster_->WaitConverged(seconds(60))) << cluster_->LogTail(old);
  EXPECT_TRUE(SameAs(Path(old, "after"), after));
}

// A follower's store fsync fails: its durable index stops where it was, its
// log is not truncated past it, the cluster goes on, and the node catches
// up once restarted on a working disk.
TEST_F(FsyncFailTest, StoreFsyncFails_DurableIndexHoldsAndLogKept) {
  // Truncate the log right behind every checkpoint, so a durable index
  // that moved wrongly would show as a truncated log.
  Start("/state.db", {"--log-keep-slots", "1"});
  int node = leader_ == 1 ? 2 : 1;
  int healthy = 6 - leader_ - node;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(WriteFile(Path(leader_, "a" + std::to_string(i)),
                          Pattern(64 << 10, i), true));
  }
  ASSERT_TRUE(cluster_->WaitConverged(seconds(30)));

  Trigger(node);
  int i = 0;
  ASSERT_TRUE(Eventually(
      [&] {
        WriteFile(Path(leader_, "b" + std::to_string(i)), Pattern(4096, i),
                  true);
        ++i;
        return cluster_->Log(node).find("uncertain") != std::string::npos;
      },
      seconds(30)))
      << cluster_->LogTail(node);
  auto stuck = cluster_->Status(node);
  auto other = cluster_->Status(healthy);
  ASSERT_TRUE(stuck.has_value());
  ASSERT_TRUE(other.has_value());
  uint64_t durable = stuck->durable_index();

  // Keep writing until a healthy node has made a checkpoint since, well
  // past where the failing node stopped (its store syncs every 2 s).
  ASSERT_TRUE(Eventually(
      [&] {
        WriteFile(Path(leader_, "c" + std::to_string(i)), Pattern(4096, i),
                  true);
        ++i;
        auto s = cluster_->Status(healthy);
        return s && s->durable_index() > other->applied_index() &&
               s->durable_index() > durable + 10;
      },
      seconds(30)));
  auto later = cluster_->Status(node);
  ASSERT_TRUE(later.has_value());
  EXPECT_EQ(later->durable_index(), durable);
  EXPECT_LE(later->log_first_slot(), durable + 1);
  EXPECT_LT(later->applied_index(), cluster_->Status(healthy)->applied_index());
  EXPECT_NE(later->problem().find("cannot apply: I/O error"), std::string::npos)
      << later->problem();

  cluster_->Stop(node);
  RestartWithoutShim(node);
  ASSERT_TRUE(cluster_->WaitConverged(seconds(60))) << cluster_->LogTail(node);
  EXPECT_TRUE(SameAs(Path(node, "a3"), Pattern(64 << 10, 3)));
}

}  // namespace
}  // namespace paxosfs::testing
