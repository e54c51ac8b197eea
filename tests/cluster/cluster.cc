#include "tests/cluster/cluster.h"

#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "cli/admin_client.h"
#include "cli/tls_files.h"

namespace paxosfs::testing {
namespace {

bool RunQuietly(const std::vector<std::string>& argv, const std::string& log) {
  auto child = cli::Spawn(argv, log);
  int status = 0;
  return child.ok() &&
         cli::WaitExit(child->pid, std::chrono::seconds(30), &status) &&
         WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void RunOrThrow(const std::vector<std::string>& argv, const std::string& log) {
  if (!RunQuietly(argv, log)) {
    throw std::runtime_error("command failed: " + argv[1] + "; see " + log);
  }
}

// Runs a shell command line with the system directories on PATH (mkfs and
// mount live in /sbin); false if it fails.
bool Shell(const std::string& command, const std::string& log) {
  return RunQuietly(
      {"/bin/sh", "-c", "PATH=\"$PATH:/sbin:/usr/sbin\"; " + command}, log);
}

}  // namespace

bool LoopDisksAvailable(std::string* why) {
  if (geteuid() != 0) {
    *why = "loop-mounted disks need root";
    return false;
  }
  if (access("/dev/loop-control", F_OK) != 0) {
    *why = "no /dev/loop-control (no loop devices here)";
    return false;
  }
  if (!Shell("command -v mkfs.ext4 && command -v losetup", "/dev/null")) {
    *why = "mkfs.ext4 or losetup is missing (scripts/install-deps.sh)";
    return false;
  }
  return true;
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

Cluster::Cluster(int nodes, std::vector<std::string> serve_args, Placer placer,
                 NodeSetup setup)
    : serve_args_(std::move(serve_args)), placer_(std::move(placer)) {
  char tmpl[] = "/tmp/paxosfs-cluster.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  root_ = tmpl;
  try {
    Found(nodes, setup);
  } catch (...) {
    // The destructor does not run for a constructor that throws.
    TearDown();
    throw;
  }
}

void Cluster::Found(int nodes, const NodeSetup& setup) {
  std::string members;
  for (int i = 1; i <= nodes; ++i) {
    // In the list before anything can throw, so TearDown unmounts its disk.
    nodes_.push_back(NewNode(i));
    Node& n = nodes_.back();
    if (setup.disk_mib > 0) MakeDisk(&n, setup.disk_mib);
    if (setup.prefix) {
      auto more = setup.prefix(i, n.data);
      n.prefix.insert(n.prefix.end(), more.begin(), more.end());
    }
    n.argv = {PAXOSFS_BINARY, "serve", "--data", n.data, "--mount", n.mnt};
    n.argv.insert(n.argv.end(), serve_args_.begin(), serve_args_.end());
    members +=
        (members.empty() ? "" : ",") + std::to_string(i) + "@" + n.listen;
  }
  for (const Node& n : nodes_) {
    std::vector<std::string> argv = {
        PAXOSFS_BINARY, "init",   "--data",    n.data,
        "--listen",     n.listen, "--node-id", std::to_string(n.id),
        "--cluster-id", "test",   "--members", members};
    if (n.id != 1) {
      argv.insert(argv.end(), {"--ca-from", cli::TlsDir(nodes_[0].data)});
    }
    RunOrThrow(argv, n.log);
  }
  auto tls = cli::LoadNodeTls(nodes_[0].data);
  if (!tls.ok()) throw std::runtime_error(tls.status().ToString());
  admin_tls_ = std::move(tls).value();
  for (int i = 1; i <= nodes; ++i) Start(i);
}

Cluster::~Cluster() { TearDown(); }

void Cluster::TearDown() {
  for (Node& n : nodes_) {
    if (n.child.pid > 0) kill(n.child.pid, SIGCONT);  // In case it was paused.
    if (n.child.pid > 0) kill(n.child.pid, SIGTERM);
  }
  for (Node& n : nodes_) {
    cli::Stop(&n.child, std::chrono::seconds(20));
    // A node that was killed leaves its mount dead; detach it.
    if (!n.mnt.empty()) umount2(n.mnt.c_str(), MNT_DETACH);
    // The loop device was set up with autoclear: unmounting detaches it.
    if (!n.disk.empty() && umount2(n.disk.c_str(), 0) != 0) {
      umount2(n.disk.c_str(), MNT_DETACH);
    }
  }
  if (std::getenv("PAXOSFS_KEEP_TEST_DIRS") == nullptr) {
    std::error_code ignored;  // Best effort: never throw from teardown.
    std::filesystem::remove_all(root_, ignored);
  }
}

Cluster::Node Cluster::NewNode(int id) {
  Node n;
  n.id = id;
  std::string base = root_ + "/node" + std::to_string(id);
  n.data = base + "/data";
  n.mnt = base + "/mnt";
  n.log = base + "/serve.log";
  if (placer_) {
    Placement placement = placer_(id);
    n.listen = placement.listen;
    n.prefix = placement.command_prefix;
  } else {
    n.listen = "127.0.0.1:" + std::to_string(FreePort());
  }
  std::filesystem::create_directories(n.mnt);
  return n;
}

void Cluster::MakeDisk(Node* n, int mib) {
  std::string base = root_ + "/node" + std::to_string(n->id);
  std::string image = base + "/disk.img";
  n->disk = base + "/disk";
  n->data = n->disk + "/data";
  std::filesystem::create_directories(n->disk);
  std::string log = base + "/disk.log";
  if (!Shell("truncate -s " + std::to_string(mib) + "M " + image +
                 " && mkfs.ext4 -q -F -m 0 " + image + " && mount -o loop " +
                 image + " " + n->disk,
             log)) {
    n->disk.clear();  // Nothing mounted to clean up.
    throw std::runtime_error("cannot make a loop disk; see " + log);
  }
}

int Cluster::Join(int via, bool voter, bool no_mount) {
  Node n = NewNode(size() + 1);
  std::string error;
  std::string token = CreateToken(via, {}, &error);
  if (token.empty()) throw std::runtime_error("token create: " + error);
  n.argv = {PAXOSFS_BINARY, "join",  "--peer", nodes_[via - 1].listen,
            "--token",      token,   "--data", n.data,
            "--listen",     n.listen};
  if (no_mount) {
    n.mnt.clear();
    n.argv.push_back("--no-mount");
  } else {
    n.argv.insert(n.argv.end(), {"--mount", n.mnt});
  }
  if (voter) n.argv.push_back("--voter");
  n.argv.insert(n.argv.end(), serve_args_.begin(), serve_args_.end());
  nodes_.push_back(n);
  Start(size());
  return size();
}

void Cluster::Start(int node) {
  Node& n = nodes_[node - 1];
  std::vector<std::string> argv = n.prefix;
  argv.insert(argv.end(), n.argv.begin(), n.argv.end());
  auto child = cli::Spawn(argv, n.log);
  if (!child.ok()) throw std::runtime_error(child.status().ToString());
  n.child = *child;
}

void Cluster::Stop(int node) {
  cli::Stop(&nodes_[node - 1].child, std::chrono::seconds(20));
}

void Cluster::Kill9(int node) { cli::Kill9(&nodes_[node - 1].child); }

std::optional<proto::NodeStatus> Cluster::Status(int node) const {
  auto status = cli::FetchStatus(admin_tls_, nodes_[node - 1].listen, 1000,
                                 /*with_digest=*/true);
  if (!status.ok()) return std::nullopt;
  return *status;
}

int Cluster::Leader() const {
  for (int i = 1; i <= size(); ++i) {
    if (!Running(i)) continue;
    auto s = Status(i);
    if (s && s->is_leader()) return i;
  }
  return 0;
}

int Cluster::WaitReady(std::chrono::seconds timeout) {
  int leader = 0;
  bool ready = Eventually(
      [&] {
        leader = 0;
        for (int i = 1; i <= size(); ++i) {
          if (!Running(i)) continue;
          auto s = Status(i);
          if (!s || s->leader_id() == 0 || s->mount_point() != mount(i)) {
            return false;
          }
          if (leader != 0 && static_cast<int>(s->leader_id()) != leader) {
            return false;
          }
          leader = static_cast<int>(s->leader_id());
        }
        return leader != 0;
      },
      timeout);
  return ready ? leader : 0;
}

bool Cluster::WaitConverged(std::chrono::seconds timeout) {
  return Eventually(
      [&] {
        std::optional<proto::NodeStatus> first;
        for (int i = 1; i <= size(); ++i) {
          if (!Running(i)) continue;
          auto s = Status(i);
          if (!s) return false;
          if (!first) {
            first = s;
          } else if (s->applied_index() != first->applied_index() ||
                     s->digest() != first->digest()) {
            return false;
          }
        }
        return first.has_value();
      },
      timeout);
}

std::string Cluster::CreateToken(int node, std::vector<std::string> args,
                                 std::string* error) const {
  std::vector<std::string> argv = {"token", "create", "--data",
                                   nodes_[node - 1].data};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string all;
  int code = Run(argv, &all, std::chrono::seconds(30));
  std::stringstream lines(all);
  std::string line, token;
  while (std::getline(lines, line)) {
    if (line.rfind("pxt1.", 0) == 0) token = line;
  }
  if (code != 0 || token.empty()) {
    if (error != nullptr) *error = all;
    return "";
  }
  return token;
}

int Cluster::Run(std::vector<std::string> args, std::string* out,
                 std::chrono::seconds timeout) const {
  static std::atomic<int> runs{0};
  std::string log = root_ + "/run-" + std::to_string(runs++) + ".out";
  args.insert(args.begin(), PAXOSFS_BINARY);
  auto child = cli::Spawn(args, log);
  int status = 0;
  bool exited = child.ok() && cli::WaitExit(child->pid, timeout, &status);
  if (child.ok() && !exited) cli::Kill9(&*child);
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  *out = text.str();
  std::filesystem::remove(log);
  return exited && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int Cluster::WaitExit(int node, std::chrono::seconds timeout) {
  cli::Child& child = nodes_[node - 1].child;
  int status = 0;
  if (child.pid <= 0 || !cli::WaitExit(child.pid, timeout, &status)) return -1;
  child.pid = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string Cluster::Log(int node) const {
  std::ifstream in(nodes_[node - 1].log);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Cluster::LogTail(int node) const {
  std::string all = Log(node);
  return all.size() > 4000 ? all.substr(all.size() - 4000) : all;
}

std::string Cluster::Describe() const {
  std::stringstream out;
  for (int i = 1; i <= size(); ++i) {
    out << "node " << i;
    if (!Running(i)) {
      out << ": not running\n";
    } else if (auto s = Status(i)) {
      out << ": leader " << s->leader_id() << ", applied " << s->applied_index()
          << ", mount '" << s->mount_point() << "'"
          << (s->problem().empty() ? "" : ", problem: " + s->problem()) << "\n";
    } else {
      out << ": no status\n";
    }
    out << LogTail(i) << "\n";
  }
  return out.str();
}

bool Cluster::WaitForLog(int node, const std::string& text,
                         std::chrono::seconds timeout) const {
  return Eventually([&] { return Log(node).find(text) != std::string::npos; },
                    timeout);
}

}  // namespace paxosfs::testing
