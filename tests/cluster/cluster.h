// A real cluster for tests: N `paxosfs serve` processes on loopback, each
// with its own data directory and FUSE mount under a temp directory. Node 1
// creates the cluster's CA at init and the other founders share it
// (--ca-from); joiners get a token from the node they join through. Every
// wait is on a condition with a bounded timeout; the destructor stops every
// process it started (by PID) and unmounts, even when the test failed.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli/process.h"
#include "proto/admin.pb.h"
#include "tests/eventually.h"
#include "tls/credentials.h"

namespace paxosfs::testing {

// A loopback port the kernel just handed out; free unless something races
// for it.
int FreePort();

// Where a node runs: the address it listens on and a prefix for its
// command lines (tests/faults puts each node in a network namespace with
// `nsenter --net=...`). Called once per node id, before the node starts.
struct Placement {
  std::string listen;
  std::vector<std::string> command_prefix;
};
using Placer = std::function<Placement(int node_id)>;

// How founders run, beyond the defaults.
struct NodeSetup {
  // > 0: each founder's data directory lies on an ext4 file system of its
  // own of this many MiB (a loop device; root only), mounted at disk(node)
  // with the data directory at disk(node)/data, so a test can fill it.
  int disk_mib = 0;
  // Words put before each founder's command (e.g. `env LD_PRELOAD=...`),
  // given its id and data directory; after the placer's prefix.
  std::function<std::vector<std::string>(int node, const std::string& data)>
      prefix;
};

// True if loop-mounted disks can be made here (root, mkfs.ext4, losetup);
// else *why says what is missing.
bool LoopDisksAvailable(std::string* why);
class Cluster {
 public:
  // Initialises and starts `nodes` nodes; ports are picked free on
  // loopback unless `placer` places them. `serve_args` are added to every
  // node's `serve` and `join` command.
  explicit Cluster(int nodes, std::vector<std::string> serve_args = {},
                   Placer placer = nullptr, NodeSetup setup = {});
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  int size() const { return static_cast<int>(nodes_.size()); }
  // Node ids are 1..size(); index i is node i + 1.
  const std::string& mount(int node) const { return nodes_[node - 1].mnt; }
  const std::string& data_dir(int node) const { return nodes_[node - 1].data; }
  const std::string& listen(int node) const { return nodes_[node - 1].listen; }
  // Where the node's own disk is mounted ("" without NodeSetup::disk_mib).
  const std::string& disk(int node) const { return nodes_[node - 1].disk; }
  // Replaces the words put before the node's command from its next Start.
  void SetCommandPrefix(int node, std::vector<std::string> prefix) {
    nodes_[node - 1].prefix = std::move(prefix);
  }

  // Starts `paxosfs join` for a new node through node `via` (a founder: it
  // makes the join token), with a mount
  // unless `no_mount`, asking to vote once caught up if `voter`. Returns
  // its index, which is its node id while nodes join in order. Start()
  // runs the same join command again (it resumes, or serves once joined).
  int Join(int via, bool voter, bool no_mount = false);
  std::string root() const { return root_; }

  // Waits until every running node's mount is up and they agree on a
  // leader. Returns that leader, or 0 on timeout.
  int WaitReady(std::chrono::seconds timeout = std::chrono::seconds(60));

  std::optional<proto::NodeStatus> Status(int node) const;
  // Whether `node` answers status and reports itself a voter.
  bool Voting(int node) const {
    auto s = Status(node);
    return s && s->voting();
  }
  // Node 1's TLS material, kept from the start: what status calls use.
  const tls::Material& admin_tls() const { return admin_tls_; }
  // Runs `paxosfs token create --data <node's dir> ARGS...`; the token, or
  // "" with the command's output in *error.
  std::string CreateToken(int node, std::vector<std::string> args = {},
                          std::string* error = nullptr) const;
  int Leader() const;  // 0 if none is known.

  // Runs `paxosfs ARGS...` to completion (at most `timeout`); its exit code
  // (-1 if it did not exit in time, then it is killed) with its stdout and
  // stderr in *out.
  int Run(std::vector<std::string> args, std::string* out,
          std::chrono::seconds timeout = std::chrono::seconds(60)) const;

  // Waits until every running node applied the same index with the same
  // digest. False on timeout.
  bool WaitConverged(std::chrono::seconds timeout = std::chrono::seconds(60));

  void Kill9(int node);  // A crash: the mount is left dead until restart.
  void Start(int node);  // (Re)starts a stopped or killed node.
  void Stop(int node);   // SIGTERM: clean unmount.
  // Waits until the node's process exits by itself (e.g. refused to
  // start); its exit code, or -1 if it still runs after `timeout`.
  int WaitExit(int node, std::chrono::seconds timeout);
  bool Running(int node) const { return nodes_[node - 1].child.pid > 0; }
  // The node's process (for SIGSTOP/SIGCONT), or -1 if it is not running.
  pid_t Pid(int node) const { return nodes_[node - 1].child.pid; }

  // A node's log (stdout and stderr of its process), whole or its tail
  // (for failure messages).
  std::string Log(int node) const;
  std::string LogTail(int node) const;
  // Every node's status and log tail, for a failure message.
  std::string Describe() const;
  // Waits until the node's log contains `text`. False on timeout.
  bool WaitForLog(int node, const std::string& text,
                  std::chrono::seconds timeout) const;

 private:
  struct Node {
    int id;
    std::string data, mnt, listen, log, disk;
    std::vector<std::string> argv, prefix;
    cli::Child child;
  };
  void Found(int nodes, const NodeSetup& setup);
  void TearDown();
  Node NewNode(int id);
  void MakeDisk(Node* n, int mib);
  std::string root_;
  std::vector<std::string> serve_args_;
  tls::Material admin_tls_;
  Placer placer_;
  std::vector<Node> nodes_;
};

}  // namespace paxosfs::testing
