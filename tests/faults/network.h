// A private network for one test's cluster: a bridge in the root network
// namespace and one network namespace per node, joined to the bridge by a
// veth pair, on a /24 of 10.77.0.0/16 no other live run uses. The test
// process reaches every node through the bridge (address .254), which
// faults never touch, so status queries and mounts keep working while the
// nodes' links to each other are cut, lossy or slow.
//
// Faults are nftables rules in each node's namespace (drops per peer, in
// one direction, or random loss) and a tbf qdisc on the node's interface
// (a slow link: queueing delay and drops once the queue fills). This
// kernel has no netem (CONFIG_NET_SCH_NETEM is off), so fixed delays are
// not offered.
//
// Names carry the test's PID ("paxosfs-f<pid>-n<id>", "pfb<pid>",
// "pfv<pid>n<id>"); the constructor removes leftovers of runs whose PID is
// gone, and the destructor removes everything this one made, even after a
// failed test. Nodes run under `nsenter --net=` (not `ip netns exec`, which
// also unshares the mount namespace and would hide their FUSE mounts).
//
// Thread safety: one thread uses a Network (the test's main thread).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/cluster/cluster.h"
#include "tests/faults/launcher.h"

namespace paxosfs::faults {

class Network {
 public:
  // Throws std::runtime_error if the host cannot make namespaces.
  Network();
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  // For Cluster's constructor: creates node `id`'s namespace on first use.
  testing::Placement Place(int id);
  std::string Address(int id) const;  // "10.77.N.id"

  // Packets from `from` to `to` are dropped (one way). TCP needs both
  // directions, so a one-way cut stalls connections either way, as on a
  // real network; what differs is who notices and when.
  void Cut(int from, int to);
  // Cuts both ways between `node` and every other node.
  void Isolate(int node);
  // Cuts both ways between nodes of different groups.
  void Partition(const std::vector<std::vector<int>>& groups);
  // Drops `percent` of the packets `node` sends to its peers.
  void SetLoss(int node, int percent);
  // Limits `node`'s outgoing bandwidth to `kbit` (0: unlimited).
  void Throttle(int node, int kbit);
  // Removes every fault.
  void Heal();

  int nodes() const { return static_cast<int>(nodes_.size()); }
  std::string Namespace(int id) const;

 private:
  struct NodeFaults {
    std::set<int> blocked;  // Destinations whose packets are dropped.
    int loss_percent = 0;
    int kbit = 0;
  };
  int Sh(const std::string& command, std::string* out = nullptr);
  void ShOrThrow(const std::string& command);
  void Apply(int id);
  void Nft(int id, const std::string& script);  // Runs `nft -f` in its netns.
  std::string Enter(int id) const;
  std::string Veth(int id) const;  // The host side of node `id`'s pair.  //
                                   // "nsenter --net=... " for a command.
  void Sweep();
  void PickSubnet();

  Launcher launcher_;  // Forked first, before any node or mount exists.
  int pid_;
  int subnet_ = 0;  // N in 10.77.N.0/24.
  std::string bridge_;
  std::map<int, NodeFaults> nodes_;
};

}  // namespace paxosfs::faults
