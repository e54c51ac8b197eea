#include "cli/demo_command.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

#include "cli/admin_client.h"
#include "cli/data_dir.h"
#include "cli/process.h"
#include "cli/tls_files.h"

namespace paxosfs::cli {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct DemoNode {
  int id;
  std::string data, mnt, listen;
  tls::Material tls;  // Its own certificate, to ask it for its status.
  Child child;
};

bool MountedAndLed(const DemoNode& node) {
  auto status = FetchStatus(node.tls, node.listen, 500);
  return status.ok() && status->leader_id() != 0 &&
         status->mount_point() == node.mnt;
}

void StopAll(std::vector<DemoNode>* nodes) {
  for (DemoNode& n : *nodes) {
    if (n.child.pid > 0) kill(n.child.pid, SIGTERM);
  }
  for (DemoNode& n : *nodes) Stop(&n.child, seconds(15));
}

int Init(const DemoFlags& flags, const std::string& self,
         std::vector<DemoNode>* nodes) {
  std::string members;
  for (int i = 1; i <= flags.nodes; ++i) {
    DemoNode n;
    n.id = i;
    std::string base =
        std::filesystem::absolute(flags.dir + "/node" + std::to_string(i));
    n.data = base + "/data";
    n.mnt = base + "/mnt";
    n.listen = "127.0.0.1:" + std::to_string(flags.base_port + i - 1);
    members +=
        (members.empty() ? "" : ",") + std::to_string(i) + "@" + n.listen;
    nodes->push_back(n);
  }
  for (DemoNode& n : *nodes) {
    std::error_code ec;
    std::filesystem::create_directories(n.mnt, ec);
    if (ec) {
      std::fprintf(stderr,
                   "paxosfs demo: --dir %s: cannot create %s: %s; give a "
                   "directory you can write\n",
                   flags.dir.c_str(), n.mnt.c_str(), ec.message().c_str());
      return 1;
    }
    if (!ReadIdentity(n.data).ok()) {  // Else kept from an earlier demo.
      std::vector<std::string> argv = {
          self,           "init",   "--data",    n.data,
          "--listen",     n.listen, "--node-id", std::to_string(n.id),
          "--cluster-id", "demo",   "--members", members};
      // Node 1 creates the cluster's CA; the other founders share it, as
      // an admin would copy node 1's ca.crt and ca.key to them.
      if (n.id != 1) {
        argv.insert(argv.end(), {"--ca-from", TlsDir(nodes->front().data)});
      }
      auto child = Spawn(argv, n.data + ".log");
      int status = 0;
      if (!child.ok() || !WaitExit(child->pid, seconds(30), &status) ||
          status != 0) {
        std::fprintf(stderr,
                     "paxosfs demo: init of node %d failed; see %s.log\n", n.id,
                     n.data.c_str());
        return 1;
      }
    }
    auto tls = LoadNodeTls(n.data);
    if (!tls.ok()) {
      std::fprintf(stderr, "paxosfs demo: node %d: %s\n", n.id,
                   tls.status().ToString().c_str());
      return 1;
    }
    n.tls = std::move(tls).value();
  }
  return 0;
}

}  // namespace

int RunDemo(const DemoFlags& flags, const std::string& self) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  std::vector<DemoNode> nodes;
  if (Init(flags, self, &nodes) != 0) return 1;
  for (DemoNode& n : nodes) {
    std::string log = std::filesystem::path(n.data).parent_path() / "serve.log";
    auto child =
        Spawn({self, "serve", "--data", n.data, "--mount", n.mnt}, log);
    if (!child.ok()) {
      std::fprintf(stderr, "paxosfs demo: %s\n",
                   child.status().ToString().c_str());
      StopAll(&nodes);
      return 1;
    }
    n.child = *child;
    std::printf("node %d: mount %s (log %s)\n", n.id, n.mnt.c_str(),
                log.c_str());
  }
  std::fflush(stdout);

  auto deadline =
      std::chrono::steady_clock::now() + seconds(flags.ready_timeout_s);
  size_t ready = 0;
  timespec poll = {0, 100'000'000};
  while (ready < nodes.size()) {
    ready = 0;
    for (DemoNode& n : nodes) {
      if (WaitExit(n.child.pid, milliseconds(0))) {
        std::fprintf(stderr, "paxosfs demo: node %d exited; see %s\n", n.id,
                     n.child.log_path.c_str());
        n.child.pid = -1;
        StopAll(&nodes);
        return 1;
      }
      ready += MountedAndLed(n) ? 1 : 0;
    }
    if (ready == nodes.size()) break;
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr,
                   "paxosfs demo: only %zu of %zu nodes ready after %d s; see "
                   "the serve.log files\n",
                   ready, nodes.size(), flags.ready_timeout_s);
      StopAll(&nodes);
      return 1;
    }
    // A stop signal during start-up ends the demo at once.
    if (sigtimedwait(&stop, nullptr, &poll) > 0) {
      StopAll(&nodes);
      return 0;
    }
  }
  std::printf(
      "ready: %zu nodes, one shared directory; try: echo hi > %s/x && "
      "cat %s/x. Ctrl-C stops.\n",
      nodes.size(), nodes[0].mnt.c_str(), nodes.back().mnt.c_str());
  std::fflush(stdout);
  int signal = 0;
  sigwait(&stop, &signal);
  std::printf("stopping: unmounting %zu nodes\n", nodes.size());
  StopAll(&nodes);
  return 0;
}

}  // namespace paxosfs::cli
