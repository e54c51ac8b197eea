// Faults while the cluster changes shape: a node joining (snapshot
// streaming, then promotion) while it or the leader is cut off, and
// promotions and demotions proposed just as the leader is isolated.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "tests/cluster/files.h"
#include "tests/faults/fault_fixture.h"

namespace paxosfs::faults {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// `paxosfs members --data DATA --peer PEER ARGS...` (DATA holds the node
// certificate it calls with): its exit code (-1 if it hung); its output is
// in `*out` if given.
int Members(const std::string& data, const std::string& peer,
            const std::vector<std::string>& args, std::string* out = nullptr) {
  std::string log = "/tmp/paxosfs-faults-members-" + std::to_string(getpid()) +
                    "-" + std::to_string(NowNs()) + ".out";
  std::vector<std::string> argv = {PAXOSFS_BINARY, "members", "--data",
                                   data,           "--peer",  peer};
  argv.insert(argv.end(), args.begin(), args.end());
  auto child = cli::Spawn(argv, log);
  int status = 0;
  bool exited = child.ok() && cli::WaitExit(child->pid, seconds(60), &status);
  if (child.ok() && !exited) cli::Kill9(&*child);
  if (out != nullptr) {
    std::stringstream text;
    text << std::ifstream(log).rdbuf();
    *out = text.str();
  }
  std::filesystem::remove(log);
  return exited && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class MembershipFaultTest : public FaultTest {
 protected:
  // `node`'s role ("voter", "learner") in the configuration `via` knows.
  std::string Role(int via, int node) {
    auto s = cluster_->Status(via);
    if (!s) return "";
    for (const auto& m : s->members()) {
      if (static_cast<int>(m.id()) == node) return m.role();
    }
    return "";
  }
  bool Voting(int node) { return Role(1, node) == "voter"; }
  // Every node lists the same members with the same roles.
  bool MembersAgree() {
    return testing::Eventually(
        [&] {
          std::string first;
          for (int i = 1; i <= cluster_->size(); ++i) {
            auto s = cluster_->Status(i);
            if (!s) return false;
            std::string members;
            for (const auto& m : s->members()) {
              members += std::to_string(m.id()) + m.role() + ",";
            }
            if (i > 1 && members != first) return false;
            first = members;
          }
          return true;
        },
        seconds(60));
  }
  // Proposes `args` through the leader while `fault` cuts the network,
  // then heals and retries until the change took (it is idempotent).
  void ChangeUnderFault(const std::vector<std::string>& args,
                        const std::function<void(int leader)>& fault,
                        const std::function<bool()>& done) {
    int leader = Leader();
    ASSERT_NE(leader, 0);
    std::string first_out, last_out;
    auto change = std::async(std::launch::async, [&] {
      return Members(cluster_->data_dir(1), cluster_->listen(leader), args,
                     &first_out);
    });
    fault(leader);
    Run(milliseconds(4000));
    net_->Heal();
    change.wait();
    EXPECT_TRUE(testing::Eventually(
        [&] {
          if (done()) return true;
          int now_leader = Leader(seconds(10));
          if (now_leader != 0) {
            Members(cluster_->data_dir(1), cluster_->listen(now_leader), args,
                    &last_out);
          }
          return done();
        },
        seconds(120)))
        << "members " << args[0] << " never took; first attempt said:\n"
        << first_out << "the last said:\n"
        << last_out;
  }
};

TEST_F(MembershipFaultTest, PartitionDuringJoin) {
  // 4 MiB/s so the 16 MiB snapshot takes seconds: time to cut it.
  ASSERT_TRUE(StartCluster(3, {"--snapshot-rate", "4"}));
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(
        testing::WriteFile(cluster_->mount(1) + "/bulk" + std::to_string(i),
                           testing::Pattern(4 << 20, i)));
  }
  ASSERT_TRUE(StartWorkload());
  int leader = Leader();
  int via = leader % 3 + 1;
  int joiner = cluster_->Join(via, /*voter=*/true);
  std::string progress = cluster_->data_dir(joiner) + "/snapshot.progress";
  ASSERT_TRUE(testing::Eventually(
      [&] { return std::filesystem::exists(progress); }, seconds(60)))
      << cluster_->LogTail(joiner);
  net_->Isolate(joiner);  // Mid-snapshot.
  Fault("isolate-joiner-mid-snapshot");
  Run(milliseconds(3000));
  net_->Heal();
  int64_t at = NowNs();
  net_->Isolate(leader);  // While the joiner catches up and is promoted.
  Fault("isolate-leader-during-join");
  Run(milliseconds(4000));
  LeaderLost(leader, at);
  net_->Heal();
  ASSERT_TRUE(testing::Eventually([&] { return Voting(joiner); }, seconds(120)))
      << cluster_->LogTail(joiner);
  workload_->AddMount(joiner, cluster_->mount(joiner));
  Run(milliseconds(2000));
  EXPECT_TRUE(MembersAgree());
  HealAndCheck();
}

TEST_F(MembershipFaultTest, PartitionDuringMembershipChange) {
  ASSERT_TRUE(StartCluster(3));
  ASSERT_TRUE(StartWorkload());
  int learner = cluster_->Join(1, /*voter=*/false);
  ASSERT_TRUE(testing::Eventually(
      [&] {
        auto s = cluster_->Status(learner);
        return s && s->mount_point() == cluster_->mount(learner);
      },
      seconds(120)))
      << cluster_->LogTail(learner);
  workload_->AddMount(learner, cluster_->mount(learner));
  std::string id = std::to_string(learner);
  for (int round = 0; round < Scale(); ++round) {
    ChangeUnderFault(
        {"promote", id},
        [&](int leader) {
          net_->Isolate(leader);
          Fault("isolate-leader-during-promote");
        },
        [&] { return Voting(learner); });
    ChangeUnderFault(
        {"demote", id},
        [&](int leader) {
          // Two against two of the four voters: no majority anywhere.
          std::vector<int> others;
          for (int n : AllNodes()) {
            if (n != leader) others.push_back(n);
          }
          net_->Partition({{leader, others[0]}, {others[1], others[2]}});
          Fault("split-2-2-during-demote");
        },
        [&] { return !Voting(learner); });
  }
  EXPECT_TRUE(MembersAgree());
  HealAndCheck();
}

}  // namespace
}  // namespace paxosfs::faults
