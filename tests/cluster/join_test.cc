// Growing and reshaping a live cluster with real processes: `paxosfs join`
// while a writer writes, a joiner killed mid-snapshot, promotion, removal
// and replacement of a wiped node, then the loss of the leader.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "tests/cluster/cluster.h"
#include "tests/cluster/files.h"

namespace paxosfs::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

int64_t MsSince(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
}

// Runs `paxosfs members --data DATA --peer PEER ARGS...` (DATA: node 1's,
// whose certificate authenticates the command); returns its exit code and
// puts its output in *out.
int Members(const Cluster& c, const std::string& peer,
            std::vector<std::string> args, std::string* out) {
  std::vector<std::string> argv = {"members", "--data", c.data_dir(1), "--peer",
                                   peer};
  argv.insert(argv.end(), args.begin(), args.end());
  return c.Run(argv, out);
}

TEST(JoinTest, JoinWhileWriting_SameDigestAndNoStall) {
  Cluster cluster(3);
  ASSERT_NE(cluster.WaitReady(), 0) << cluster.LogTail(1);
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(WriteFile(cluster.mount(1) + "/pre-" + std::to_string(i),
                          Pattern(2 << 20, i)));
  }
  std::atomic<bool> stop{false};
  std::atomic<int> writes{0}, errors{0};
  std::atomic<int64_t> worst_ms{0};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      auto start = Clock::now();
      bool ok = WriteFile(cluster.mount(2) + "/w-" + std::to_string(i % 50),
                          Pattern(16 << 10, i), true);
      worst_ms = std::max<int64_t>(worst_ms, MsSince(start));
      (ok ? writes : errors)++;
    }
  });
  auto start = Clock::now();
  int joiner = cluster.Join(1, /*voter=*/false);
  bool caught_up = Eventually(
      [&] {
        auto s = cluster.Status(joiner);
        auto l = cluster.Status(1);
        return s && l && s->applied_index() + 10 >= l->applied_index() &&
               s->mount_point() == cluster.mount(joiner);
      },
      seconds(120));
  int64_t join_ms = MsSince(start);
  std::this_thread::sleep_for(milliseconds(500));  // Writes after the join.
  stop = true;
  writer.join();
  ASSERT_TRUE(caught_up) << cluster.LogTail(joiner);
  EXPECT_TRUE(cluster.WaitConverged()) << cluster.LogTail(joiner);
  std::cout << "joined (snapshot + catch-up) in " << join_ms
            << " ms; the writer made " << writes << " fsynced writes, "
            << errors << " errors, longest " << worst_ms << " ms\n";
  EXPECT_EQ(errors, 0);
  EXPECT_LT(worst_ms, 3000) << "the writer stalled during the join";
  EXPECT_EQ(ReadFile(cluster.mount(joiner) + "/pre-3"), Pattern(2 << 20, 3));
  auto s = cluster.Status(joiner);
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->voting()) << "a plain join stays a learner";
}

TEST(JoinTest, JoinerKilledMidSnapshot_ResumesAndConverges) {
  // 4 MiB/s so the 24 MiB snapshot takes seconds: time to kill it.
  Cluster cluster(3, {"--snapshot-rate", "4"});
  ASSERT_NE(cluster.WaitReady(), 0) << cluster.LogTail(1);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(WriteFile(cluster.mount(1) + "/big-" + std::to_string(i),
                          Pattern(8 << 20, i)));
  }
  int joiner = cluster.Join(2, /*voter=*/false, /*no_mount=*/true);
  // The progress record appears once a durable prefix exists.
  std::string progress = cluster.data_dir(joiner) + "/snapshot.progress";
  ASSERT_TRUE(Eventually([&] { return std::filesystem::exists(progress); },
                         seconds(60)))
      << cluster.LogTail(joiner);
  cluster.Kill9(joiner);
  ASSERT_EQ(cluster.Log(joiner).find("installed the snapshot"),
            std::string::npos)
      << "killed too late to test resumption";
  cluster.Start(joiner);
  EXPECT_TRUE(cluster.WaitForLog(joiner, "installed the snapshot", seconds(60)))
      << cluster.LogTail(joiner);
  std::string log = cluster.Log(joiner);
  EXPECT_NE(log.find("resuming snapshot"), std::string::npos) << log;
  EXPECT_NE(log.find("resumed a partial download"), std::string::npos) << log;
  EXPECT_TRUE(cluster.WaitConverged()) << cluster.LogTail(joiner);
}

TEST(JoinTest, PromoteRemoveReplace_ThenLeaderKilled) {
  Cluster cluster(3);
  ASSERT_NE(cluster.WaitReady(), 0) << cluster.LogTail(1);
  std::string out;
  // With node 3 down, removing node 2 would leave 1 of 2 voters answering.
  cluster.Stop(3);
  EXPECT_EQ(Members(cluster, cluster.listen(1), {"remove", "2"}, &out), 1)
      << out;
  EXPECT_NE(out.find("--force"), std::string::npos) << out;
  cluster.Start(3);
  ASSERT_NE(cluster.WaitReady(), 0);

  int four = cluster.Join(1, /*voter=*/true);
  ASSERT_TRUE(Eventually([&] { return cluster.Voting(four); }, seconds(60)))
      << cluster.LogTail(four);
  ASSERT_TRUE(WriteFile(cluster.mount(four) + "/from-4", "four", true));
  ASSERT_EQ(Members(cluster, cluster.listen(1),
                    {"demote", std::to_string(four)}, &out),
            0)
      << out;
  EXPECT_TRUE(Eventually([&] { return !cluster.Voting(four); }, seconds(30)))
      << "a demoted node still reports itself voting";
  ASSERT_EQ(Members(cluster, cluster.listen(1),
                    {"promote", std::to_string(four)}, &out),
            0)
      << out;
  ASSERT_TRUE(Eventually([&] { return cluster.Voting(four); }, seconds(60)))
      << cluster.LogTail(four);

  // Node 3's disk dies: remove it, and join a fresh node in its place.
  ASSERT_EQ(Members(cluster, cluster.listen(1), {"remove", "3"}, &out), 0)
      << out;
  cluster.Kill9(3);
  std::filesystem::remove_all(cluster.data_dir(3));
  int five = cluster.Join(2, /*voter=*/true);
  ASSERT_TRUE(Eventually([&] { return cluster.Voting(five); }, seconds(60)))
      << cluster.LogTail(five);
  ASSERT_EQ(Members(cluster, cluster.listen(2), {}, &out), 0);
  EXPECT_EQ(out.find(cluster.listen(3)), std::string::npos)
      << "node 3 is still listed:\n"
      << out;

  int leader = cluster.Leader();
  ASSERT_NE(leader, 0);
  cluster.Kill9(leader);
  auto killed = Clock::now();
  int reader = leader == 5 ? 4 : 5;
  int writer = leader == 1 ? 2 : 1;
  bool resumed = false;
  while (!resumed && MsSince(killed) < 30000) {
    resumed = WriteFile(cluster.mount(writer) + "/after", "after", true);
  }
  ASSERT_TRUE(resumed) << "no write succeeded within 30 s of losing node "
                       << leader;
  std::cout << "writes resumed " << MsSince(killed)
            << " ms after kill -9 of leader " << leader << "\n";
  EXPECT_EQ(ReadFile(cluster.mount(reader) + "/after"), "after");
  EXPECT_EQ(ReadFile(cluster.mount(reader) + "/from-4"), "four");
  EXPECT_TRUE(cluster.WaitConverged());
}

TEST(JoinTest, NodeBehindTruncatedLogs_RebuildsFromSnapshotInPlace) {
  // Keep 20 slots below the checkpoint: a node down for a few hundred
  // slots can only come back through a snapshot.
  // Snapshots at 1 MiB/s: the rebuild takes a while to watch.
  Cluster cluster(3, {"--log-keep-slots", "20", "--snapshot-rate", "1"});
  ASSERT_NE(cluster.WaitReady(), 0) << cluster.LogTail(1);
  int behind = cluster.Leader() == 3 ? 2 : 3;
  int writer = behind == 1 ? 2 : 1;
  auto before = cluster.Status(behind);
  ASSERT_TRUE(before);
  cluster.Stop(behind);
  // A membership change in the slots its snapshot will skip: it must come
  // back knowing the learner (the log's metadata holds configurations, the
  // store does not).
  int learner = cluster.Join(writer, /*voter=*/false, /*no_mount=*/true);
  for (int i = 0; !Eventually(
           [&] {
             auto s = cluster.Status(writer);
             return s && s->log_first_slot() > before->applied_index() + 1;
           },
           seconds(1));
       ++i) {
    ASSERT_LT(i, 60) << "the log was never truncated";
    for (int j = 0; j < 20; ++j) {
      ASSERT_TRUE(WriteFile(cluster.mount(writer) + "/f" + std::to_string(j),
                            Pattern(4096, i * 20 + j)));
    }
  }
  cluster.Start(behind);
  // Once mounted, its mount point never shows the bare directory, even
  // while the node rebuilds: a write there would land on the local disk,
  // hidden once the new mount is up. It answers ENOTCONN meanwhile.
  bool mounted = false;
  int bare = 0;
  int dead = 0;
  bool installed = false;
  for (auto deadline = std::chrono::steady_clock::now() + seconds(60);
       !installed && std::chrono::steady_clock::now() < deadline;) {
    MountState state = StatMount(cluster.mount(behind));
    mounted |= state == MountState::kFuse;
    if (mounted && state == MountState::kOther) ++bare;
    if (state == MountState::kDead) ++dead;
    installed =
        cluster.Log(behind).find("installed the snapshot") != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(installed) << cluster.LogTail(behind);
  EXPECT_EQ(bare, 0) << "the mount point was a plain directory mid-rebuild";
  EXPECT_GT(dead, 0) << "the rebuild was not seen fenced";
  EXPECT_NE(cluster.WaitReady(), 0) << cluster.LogTail(behind);
  EXPECT_TRUE(cluster.WaitConverged()) << cluster.LogTail(behind);
  EXPECT_NE(cluster.Log(behind).find("rebuild from a snapshot"),
            std::string::npos);
  EXPECT_EQ(ReadFile(cluster.mount(behind) + "/f7"),
            ReadFile(cluster.mount(writer) + "/f7"));
  auto after = cluster.Status(behind);
  ASSERT_TRUE(after);
  bool knows_learner = false;
  for (const proto::MemberStatus& m : after->members()) {
    knows_learner |= m.id() == static_cast<uint64_t>(learner);
  }
  EXPECT_TRUE(knows_learner)
      << "the rebuilt node lost the membership change its snapshot skipped";
}

// A leader demoted to a learner may lead on, proposing slots it does not
// vote for. Its kernel cache must still drop, before a slot can be chosen,
// what the slot changes: a change made on another node is seen by the next
// stat on the leader's mount.
TEST(JoinTest, DemotedLeader_KernelCacheFollowsChangesElsewhere) {
  Cluster cluster(3);
  int leader = cluster.WaitReady();
  ASSERT_NE(leader, 0) << cluster.LogTail(1);
  int other = leader == 1 ? 2 : 1;
  std::string out;
  ASSERT_EQ(Members(cluster, cluster.listen(leader),
                    {"demote", std::to_string(leader)}, &out),
            0)
      << out;
  ASSERT_TRUE(Eventually([&] { return !cluster.Voting(leader); }, seconds(30)));
  std::string f = "/f", g = "/g";
  ASSERT_TRUE(WriteFile(cluster.mount(other) + f, "0123456789"));
  int led = 0;
  for (int round = 0; round < 8; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    auto s = cluster.Status(leader);
    if (s && s->is_leader() && s->lease_valid()) ++led;
    struct stat st;
    std::string here = cluster.mount(leader) + f;
    std::string there = cluster.mount(other) + f;
    ASSERT_EQ(stat(here.c_str(), &st), 0);
    ASSERT_EQ(stat(here.c_str(), &st), 0);
    mode_t mode = round % 2 == 0 ? 0600 : 0644;
    ASSERT_EQ(chmod(there.c_str(), mode), 0);
    ASSERT_EQ(stat(here.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, mode);
    ASSERT_EQ(rename(there.c_str(), (cluster.mount(other) + g).c_str()), 0);
    EXPECT_NE(stat(here.c_str(), &st), 0);
    std::swap(f, g);
  }
  // Otherwise the case above was not the one this test is about.
  EXPECT_GT(led, 0) << "the demoted node never led with a lease";
}

}  // namespace
}  // namespace paxosfs::testing
