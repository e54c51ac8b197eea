// The fixture every fault scenario shares: a cluster whose nodes each live
// in their own network namespace (Network), clients on every mount
// (Workload), a tally of the faults injected, and HealAndCheck(), which
// ends every scenario the same way: heal, wait for a leader, require
// progress on every node, converge, read everything back on every node
// and check the history.
//
// Scenarios are bounded for the default test run; PAXOSFS_FAULTS_FULL=1
// (tests/faults/report.sh) multiplies their durations and rounds by
// Scale(). With PAXOSFS_FAULTS_RESULTS=FILE each scenario appends one
// tab-separated line of figures to FILE for the report.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tests/cluster/cluster.h"
#include "tests/faults/network.h"
#include "tests/faults/workload.h"

namespace paxosfs::faults {

class FaultTest : public ::testing::Test {
 protected:
  FaultTest();
  ~FaultTest() override;

  static int Scale();  // 1, or 4 with PAXOSFS_FAULTS_FULL=1.
  static std::chrono::milliseconds Scaled(int64_t ms) {
    return std::chrono::milliseconds(ms * Scale());
  }

  // Starts `nodes` nodes and waits for a leader; false (with the logs
  // printed) if none appears.
  [[nodiscard]] bool StartCluster(int nodes,
                                  std::vector<std::string> serve_args = {});
  [[nodiscard]] bool StartWorkload(WorkloadOptions options = {});
  // Lets the clients run for `duration` while the faults stay as they are.
  // The test thread has nothing to wait for: this is the workload's length,
  // not a synchronisation.
  void Run(std::chrono::milliseconds duration);
  // A leader both `WaitReady` and every running node agree on, or 0.
  int Leader(std::chrono::seconds timeout = std::chrono::seconds(60));
  // Waits until some node other than `old` leads; its id or 0.
  int NewLeader(int old, std::chrono::seconds timeout);

  void Fault(const std::string& kind) { ++faults_[kind]; }
  // `leader` stopped serving at `at_ns` (isolated, killed, paused) and the
  // others, still a majority, were without it until now. HealAndCheck
  // measures the longest unavailability on their mounts.
  void LeaderLost(int leader, int64_t at_ns);

  // `rounds` times: 1.5 s of calm, then `inject(round, leader)` makes a
  // fault that stays for `hold`; then the network heals and paused nodes
  // resume. `inject` returns the leader if the fault took it away (a new
  // one must then be elected without it), else 0.
  void Rounds(int rounds, std::chrono::milliseconds hold,
              const std::function<int(int round, int leader)>& inject);

  void Pause(int node);   // SIGSTOP
  void Resume(int node);  // SIGCONT

  // Before StartCluster: every node's monotonic clock becomes skewable,
  // at rate 1 (PAXOSFS_TEST_CLOCK_RATE_FILE, cli/test_clock.h).
  void EnableTestClocks();
  // Runs `node`'s monotonic clock at `rate` times real time; waits until
  // the node logged the change. REQUIRES: EnableTestClocks().
  void SetClockRate(int node, double rate);

  // What HealAndCheck requires of the registers: linearizable, or (a
  // demonstration beyond the clock-drift bound) anything, reported.
  // Appends must be whole, replicas converge and progress resume either way.
  enum class Expect { kLinearizable, kStaleReadsAllowed };

  // Ends the scenario: see the header comment. Records the figures.
  void HealAndCheck(Expect expect = Expect::kLinearizable);

  std::mt19937& rng() { return rng_; }
  std::set<int> AllNodes() const;

  std::unique_ptr<Network> net_;
  std::unique_ptr<testing::Cluster> cluster_;
  std::unique_ptr<Workload> workload_;

 private:
  void Record(const CheckSummary& summary, int64_t worst_ms);
  void ExpectNoCrash();

  struct LeaderLoss {
    int64_t at_ns, until_ns;
    std::set<int> survivors;
  };
  std::map<std::string, int> faults_;
  std::vector<LeaderLoss> losses_;
  std::set<int> paused_;
  std::string clock_dir_;  // Rate files "rate-<id>", if EnableTestClocks().
  std::map<int, double> clock_rates_;
  int64_t started_ns_;
  uint64_t seed_;
  std::mt19937 rng_;
};

}  // namespace paxosfs::faults
