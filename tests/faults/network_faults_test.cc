// Network faults on a 3-node cluster with clients on every mount: the
// leader or a follower cut off, a one-way cut, links flapping in random
// shapes (including non-transitive partitions), lossy and slow links.
// Every scenario ends with HealAndCheck (fault_fixture.h).
#include <gtest/gtest.h>

#include "tests/faults/fault_fixture.h"

namespace paxosfs::faults {
namespace {

using std::chrono::milliseconds;

TEST_F(FaultTest, LeaderIsolated) {
  ASSERT_TRUE(StartCluster(3));
  ASSERT_TRUE(StartWorkload());
  Rounds(Scale(), milliseconds(4000), [&](int, int leader) {
    net_->Isolate(leader);
    Fault("isolate-leader");
    return leader;
  });
  HealAndCheck();
}

TEST_F(FaultTest, MinorityIsolated) {
  ASSERT_TRUE(StartCluster(3));
  ASSERT_TRUE(StartWorkload());
  Rounds(Scale(), milliseconds(5000), [&](int, int leader) {
    net_->Isolate(leader % 3 + 1);
    Fault("isolate-follower");
    return 0;
  });
  HealAndCheck();
}

// Even rounds: the leader cannot send; odd rounds: it cannot hear.
TEST_F(FaultTest, LeaderOneWayCut) {
  ASSERT_TRUE(StartCluster(3));
  ASSERT_TRUE(StartWorkload());
  Rounds(2 * Scale(), milliseconds(5000), [&](int round, int leader) {
    for (int other : AllNodes()) {
      if (other == leader) continue;
      if (round % 2 == 0) {
        net_->Cut(leader, other);
      } else {
        net_->Cut(other, leader);
      }
    }
    Fault(round % 2 == 0 ? "one-way-cut-from-leader" : "one-way-cut-to-leader");
    return leader;
  });
  HealAndCheck();
}

// Random faults, each held 0.5-2.5 s, with 0.5-1.5 s of calm between.
TEST_F(FaultTest, FlappingLinks) {
  ASSERT_TRUE(StartCluster(3));
  ASSERT_TRUE(StartWorkload());
  auto end = std::chrono::steady_clock::now() + Scaled(20000);
  std::uniform_int_distribution<int> node(1, 3), kind(0, 3), hold(500, 2500),
      calm(500, 1500);
  while (std::chrono::steady_clock::now() < end) {
    int a = node(rng()), b = a % 3 + 1, c = b % 3 + 1;
    switch (kind(rng())) {
      case 0:
        net_->Isolate(a);
        Fault("flap-isolate");
        break;
      case 1:
        net_->Partition({{a}, {b}});  // a-b cut both ways, c sees both.
        Fault("flap-non-transitive");
        break;
      case 2:
        net_->Cut(a, b);
        net_->Cut(b, c);
        Fault("flap-one-way");
        break;
      default:
        net_->Partition({{a}, {b}, {c}});
        Fault("flap-all-split");
        break;
    }
    Run(milliseconds(hold(rng())));
    net_->Heal();
    Run(milliseconds(calm(rng())));
  }
  HealAndCheck();
}

TEST_F(FaultTest, LossyAndSlowLinks) {
  ASSERT_TRUE(StartCluster(3));
  ASSERT_TRUE(StartWorkload());
  Run(milliseconds(1000));
  for (int node : AllNodes()) net_->SetLoss(node, 15);
  Fault("loss-15%");
  int leader = Leader();
  ASSERT_NE(leader, 0);
  net_->Throttle(leader, 2000);
  Fault("throttle-leader-2mbit");
  Run(Scaled(8000));
  net_->Heal();
  for (int node : AllNodes()) net_->SetLoss(node, 40);
  Fault("loss-40%");
  Run(Scaled(4000));
  HealAndCheck();
}

// Slow commits and one hot register: many clients on each node read and
// write the same file while each write takes long to be chosen, so reads
// on the writer's node overlap its writes in flight.
TEST_F(FaultTest, SlowLinks_OneHotRegister) {
  ASSERT_TRUE(StartCluster(3));
  WorkloadOptions options;
  options.registers = 1;
  options.clients_per_node = 3;
  ASSERT_TRUE(StartWorkload(options));
  for (int node : AllNodes()) net_->SetLoss(node, 10);
  Fault("loss-10%");
  Run(Scaled(10000));
  HealAndCheck();
}

}  // namespace
}  // namespace paxosfs::faults
