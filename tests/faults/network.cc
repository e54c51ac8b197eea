#include "tests/faults/network.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace paxosfs::faults {
namespace {

constexpr int kPort = 7000;
constexpr char kLock[] = "/run/lock/paxosfs-faults.lock";

std::string Output(const std::string& command) {
  std::string out;
  FILE* pipe = popen(("timeout 20 " + command + " 2>/dev/null").c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof(buf), pipe)) > 0;)
    out.append(buf, n);
  pclose(pipe);
  return out;
}

bool Alive(int pid) { return kill(pid, 0) == 0 || errno == EPERM; }

}  // namespace

// Commands that enter a node's namespace use `nsenter --net`, not `ip
// netns exec`: no new mount namespace for each of them.
int Network::Sh(const std::string& command, std::string* out) {
  return launcher_.Run(command, out);
}

void Network::ShOrThrow(const std::string& command) {
  std::string out;
  if (Sh(command, &out) != 0) {
    throw std::runtime_error("failed: " + command + ": " + out);
  }
}

Network::Network() : pid_(getpid()) {
  bridge_ = "pfb" + std::to_string(pid_);
  Sweep();
  PickSubnet();
}

Network::~Network() {
  // The veth first: deleting a namespace frees its devices asynchronously,
  // and the next test in this process reuses the names.
  for (const auto& [id, faults] : nodes_) {
    Sh("ip link del " + Veth(id));
    Sh("ip netns del " + Namespace(id));
  }
  Sh("ip link del " + bridge_);
}

std::string Network::Namespace(int id) const {
  return "paxosfs-f" + std::to_string(pid_) + "-n" + std::to_string(id);
}

std::string Network::Veth(int id) const {
  return "pfv" + std::to_string(pid_) + "n" + std::to_string(id);
}

std::string Network::Address(int id) const {
  return "10.77." + std::to_string(subnet_) + "." + std::to_string(id);
}

// Namespaces and bridges of runs whose process is gone: their nodes are
// killed by PID (they are ours: the name carries the test's PID) and the
// namespaces deleted, which also deletes their veths.
void Network::Sweep() {
  std::regex ns_name("^(paxosfs-f([0-9]+)-n[0-9]+)");
  std::stringstream namespaces(Output("ip netns list"));
  for (std::string line; std::getline(namespaces, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, ns_name) || Alive(std::stoi(m[2]))) {
      continue;
    }
    std::stringstream pids(Output("ip netns pids " + m[1].str()));
    for (int pid; pids >> pid;) kill(pid, SIGKILL);
    Sh("ip netns del " + m[1].str());
  }
  std::regex bridge_name(": (pfb([0-9]+)):");
  std::stringstream bridges(Output("ip -o link show type bridge"));
  for (std::string line; std::getline(bridges, line);) {
    std::smatch m;
    if (std::regex_search(line, m, bridge_name) && !Alive(std::stoi(m[2]))) {
      Sh("ip link del " + m[1].str());
    }
  }
}

// Under a host-wide lock, so concurrent runs (ctest -j) get distinct /24s.
void Network::PickSubnet() {
  int lock = open(kLock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0 || flock(lock, LOCK_EX) != 0) {
    throw std::runtime_error(std::string("cannot lock ") + kLock);
  }
  std::string addresses = Output("ip -o -4 addr show");
  for (int n = 1; n <= 250 && subnet_ == 0; ++n) {
    if (addresses.find("10.77." + std::to_string(n) + ".") ==
        std::string::npos) {
      subnet_ = n;
    }
  }
  bool ok = subnet_ != 0 &&
            Sh("ip link add " + bridge_ + " type bridge") == 0 &&
            Sh("ip addr add " + Address(254) + "/24 dev " + bridge_) == 0 &&
            Sh("ip link set " + bridge_ + " up") == 0;
  close(lock);  // Releases the lock.
  if (!ok) {
    Sh("ip link del " + bridge_);
    throw std::runtime_error("cannot create bridge " + bridge_ +
                             " (root, iproute2 and bridge support needed)");
  }
}

testing::Placement Network::Place(int id) {
  if (nodes_.count(id) == 0) {
    std::string ns = Namespace(id);
    std::string veth = Veth(id);
    nodes_[id] = NodeFaults{};
    ShOrThrow("ip netns add " + ns);
    ShOrThrow("ip link add " + veth + " type veth peer name eth0 netns " + ns);
    ShOrThrow("ip link set " + veth + " master " + bridge_ + " up");
    ShOrThrow("ip -n " + ns + " addr add " + Address(id) + "/24 dev eth0");
    ShOrThrow("ip -n " + ns + " link set eth0 up");
    ShOrThrow("ip -n " + ns + " link set lo up");
    Nft(id,
        "add table inet paxosfs\n"
        "add chain inet paxosfs out { type filter hook output priority 0; }\n");
  }
  return {Address(id) + ":" + std::to_string(kPort),
          {"/usr/bin/nsenter", "--net=/run/netns/" + Namespace(id), "--"}};
}

// Replaces the node's rules in one nft transaction.
void Network::Apply(int id) {
  const NodeFaults& f = nodes_.at(id);
  std::string script = "flush chain inet paxosfs out\n";
  for (int to : f.blocked) {
    script += "add rule inet paxosfs out ip daddr " + Address(to) + " drop\n";
  }
  if (f.loss_percent > 0) {
    std::string net = "10.77." + std::to_string(subnet_) + ".0/24";
    script += "add rule inet paxosfs out ip daddr " + net +
              " ip daddr != " + Address(254) + " numgen random mod 100 < " +
              std::to_string(f.loss_percent) + " drop\n";
  }
  Nft(id, script);
}

std::string Network::Enter(int id) const {
  return "nsenter --net=/run/netns/" + Namespace(id) + " ";
}

void Network::Nft(int id, const std::string& script) {
  std::string file = "/tmp/" + Namespace(id) + ".nft";
  std::ofstream(file) << script;
  ShOrThrow(Enter(id) + "nft -f " + file);
  unlink(file.c_str());
}

void Network::Cut(int from, int to) {
  nodes_.at(from).blocked.insert(to);
  Apply(from);
}

void Network::Isolate(int node) {
  for (auto& [id, faults] : nodes_) {
    if (id == node) continue;
    Cut(node, id);
    Cut(id, node);
  }
}

void Network::Partition(const std::vector<std::vector<int>>& groups) {
  for (size_t a = 0; a < groups.size(); ++a) {
    for (size_t b = 0; b < groups.size(); ++b) {
      if (a == b) continue;
      for (int from : groups[a]) {
        for (int to : groups[b]) nodes_.at(from).blocked.insert(to);
      }
    }
  }
  for (const auto& group : groups) {
    for (int id : group) Apply(id);
  }
}

void Network::SetLoss(int node, int percent) {
  nodes_.at(node).loss_percent = percent;
  Apply(node);
}

void Network::Throttle(int node, int kbit) {
  std::string tc = Enter(node) + "tc qdisc ";
  if (kbit > 0) {
    ShOrThrow(tc + "replace dev eth0 root tbf rate " + std::to_string(kbit) +
              "kbit burst 16kb latency 300ms");
  } else if (nodes_.at(node).kbit > 0) {
    ShOrThrow(tc + "del dev eth0 root");
  }
  nodes_.at(node).kbit = kbit;
}

void Network::Heal() {
  for (auto& [id, faults] : nodes_) {
    faults.blocked.clear();
    faults.loss_percent = 0;
    Apply(id);
    Throttle(id, 0);
  }
}

}  // namespace paxosfs::faults
