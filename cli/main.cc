// The `paxosfs` command. Subcommands appear here only once they work.
#include <absl/synchronization/mutex.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "cli/config_file.h"
#include "cli/demo_command.h"
#include "cli/init_command.h"
#include "cli/input_checks.h"
#include "cli/join_command.h"
#include "cli/members_command.h"
#include "cli/rebuild_command.h"
#include "cli/serve_command.h"
#include "cli/status_command.h"
#include "cli/token_command.h"
#include "cli/validators.h"
#include "cli/version.h"

namespace {

// The mount point as the kernel lists it, so that a stale mount there is
// recognised (fuse::PrepareMountPoint) and `status` shows where it is.
void AbsoluteMountPoint(paxosfs::cli::ServeFlags* flags) {
  if (flags->no_mount || flags->mount_point.empty()) return;
  std::error_code ec;
  std::filesystem::path path =
      std::filesystem::absolute(flags->mount_point, ec);
  if (!ec) flags->mount_point = path.lexically_normal().string();
  while (flags->mount_point.size() > 1 && flags->mount_point.back() == '/') {
    flags->mount_point.pop_back();
  }
}

void AddInit(CLI::App& app, paxosfs::cli::InitFlags& flags) {
  CLI::App* init = app.add_subcommand(
      "init", "Create the data directory of a node of a new cluster");
  init->add_option("--data", flags.data_dir, "Data directory to create")
      ->required();
  init->add_option("--listen", flags.listen,
                   "HOST:PORT this node's peer service listens on")
      ->required()
      ->check(paxosfs::cli::AddressValue());
  init->add_option("--node-id", flags.node_id, "This node's id (>= 1)")
      ->check(paxosfs::cli::WholeNumberValue(1, paxosfs::cli::kMaxFounderNodeId,
                                             "node id"))
      ->capture_default_str();
  init->add_option("--cluster-id", flags.cluster_id,
                   "Cluster id shared by every member (default: random)")
      ->check(paxosfs::cli::ClusterIdValue());
  init->add_option("--members", flags.members,
                   "The initial voters, ID@HOST:PORT,... (default: this node "
                   "alone)");
  init->add_option("--ca-from", flags.ca_from,
                   "Directory with the cluster's ca.crt and ca.key (a copy of "
                   "the first founder's DATA/tls); default: create a new CA");
  init->callback([&flags] { std::exit(paxosfs::cli::RunInit(flags)); });
}

// Options `serve` and `join` share.
void AddNodeTuning(CLI::App* command, paxosfs::cli::ServeFlags& flags) {
  command
      ->add_option("--reserve-mib", flags.reserve_mib,
                   "Writes that grow the data get ENOSPC while less than this "
                   "many MiB are free on the data directory's file system (0: "
                   "no reserve)")
      ->check(paxosfs::cli::WholeNumberValue(0, 1 << 20, "MiB"))
      ->capture_default_str();
  command
      ->add_option("--snapshot-rate", flags.snapshot_rate_mib,
                   "MiB/s this node may send as snapshots to joining nodes "
                   "(0: no bound)")
      ->check(paxosfs::cli::WholeNumberValue(0, 1 << 20, "MiB/s"))
      ->capture_default_str();
  command
      ->add_option("--log-keep-slots", flags.log_keep_slots,
                   "Log entries kept below the checkpoint for lagging peers; "
                   "a peer further behind is rebuilt from a snapshot")
      ->check(paxosfs::cli::WholeNumberValue(1, 1'000'000'000, "slots"))
      ->capture_default_str();
  command
      ->add_option("--log-keep-mib", flags.log_keep_mib,
                   "At most this many MiB of log entries are kept below the "
                   "checkpoint (whichever of the two bounds keeps less)")
      ->check(paxosfs::cli::WholeNumberValue(1, 1 << 20, "MiB"))
      ->capture_default_str();
}

void AddServe(CLI::App& app, paxosfs::cli::ServeFlags& flags) {
  CLI::App* serve = app.add_subcommand(
      "serve", "Run a node in the foreground and mount the shared directory");
  // Owned by the callback, which outlives parsing.
  auto config = std::make_shared<std::string>();
  serve->add_option("--config", *config,
                    "key = value file (man paxosfs); flags override it");
  auto* data = serve->add_option("--data", flags.data_dir,
                                 "Data directory made by `paxosfs init`");
  auto* mount = serve->add_option("--mount", flags.mount_point,
                                  "Empty directory to mount");
  auto* no_mount =
      serve->add_flag("--no-mount", flags.no_mount,
                      "Replicate without mounting (a pure replica)");
  mount->excludes(no_mount);
  auto* verbose =
      serve->add_flag("--verbose", flags.verbose, "Log debug lines");
  AddNodeTuning(serve, flags);
  serve->callback([&flags, config, data, mount, no_mount, verbose, serve] {
    if (!config->empty()) {
      auto file = paxosfs::cli::ReadServeConfig(*config);
      if (!file.ok()) {
        std::fprintf(stderr, "paxosfs serve: --config: %s\n",
                     file.status().ToString().c_str());
        std::exit(paxosfs::cli::kExitUsage);
      }
      paxosfs::cli::MergeServeConfig(
          *file,
          {data->count() > 0, mount->count() > 0, no_mount->count() > 0,
           verbose->count() > 0,
           serve->get_option("--reserve-mib")->count() > 0},
          &flags);
    }
    if (flags.data_dir.empty()) {
      std::fprintf(stderr,
                   "paxosfs serve: give --data DIR, or 'data = DIR' in the "
                   "--config file\n");
      std::exit(paxosfs::cli::kExitUsage);
    }
    if (!flags.no_mount && flags.mount_point.empty()) {
      std::fprintf(stderr,
                   "paxosfs serve: give --mount DIR (an empty directory), or "
                   "--no-mount to replicate without mounting (or 'mount = DIR' "
                   "or 'no-mount = true' in the --config file)\n");
      std::exit(paxosfs::cli::kExitUsage);
    }
    AbsoluteMountPoint(&flags);
    std::exit(paxosfs::cli::RunServe(flags));
  });
}

void AddJoin(CLI::App& app, paxosfs::cli::JoinFlags& flags) {
  CLI::App* join = app.add_subcommand(
      "join", "Make a new node a member of a running cluster, then serve");
  join->add_option("--peer", flags.peer,
                   "HOST:PORT of the member that created the token")
      ->required()
      ->check(paxosfs::cli::AddressValue());
  join->add_option("--token", flags.token,
                   "Join token from `paxosfs token create` (not needed to "
                   "resume an interrupted join)");
  join->add_option("--data", flags.serve.data_dir,
                   "Data directory to create (or to resume a join in)")
      ->required();
  join->add_option("--listen", flags.listen,
                   "HOST:PORT this node's peer service listens on")
      ->required()
      ->check(paxosfs::cli::AddressValue());
  auto* mount = join->add_option("--mount", flags.serve.mount_point,
                                 "Empty directory to mount");
  auto* no_mount =
      join->add_flag("--no-mount", flags.serve.no_mount,
                     "Replicate without mounting (a pure replica)");
  mount->excludes(no_mount);
  join->add_flag("--voter", flags.serve.promote,
                 "Become a voter once caught up (default: stay a learner)");
  join->add_flag("--verbose", flags.serve.verbose, "Log debug lines");
  AddNodeTuning(join, flags.serve);
  join->callback([&flags] {
    if (!flags.serve.no_mount && flags.serve.mount_point.empty()) {
      std::fprintf(stderr,
                   "paxosfs join: give --mount DIR (an empty directory), or "
                   "--no-mount to replicate without mounting\n");
      std::exit(paxosfs::cli::kExitUsage);
    }
    if (flags.listen == flags.peer) {
      std::fprintf(stderr,
                   "paxosfs join: --listen %s is the address of --peer; give "
                   "this node's own HOST:PORT\n",
                   flags.listen.c_str());
      std::exit(paxosfs::cli::kExitUsage);
    }
    AbsoluteMountPoint(&flags.serve);
    std::exit(paxosfs::cli::RunJoin(flags));
  });
}

// --data and --peer of the admin commands.
void AddAdminAccess(CLI::App* command, std::string& data_dir,
                    std::string& peer) {
  command
      ->add_option("--data", data_dir,
                   "Data directory of a node of the cluster: its tls/ "
                   "certificate authenticates this command")
      ->capture_default_str();
  command
      ->add_option("--peer", peer,
                   "HOST:PORT of any member (default: the --data node)")
      ->check(paxosfs::cli::AddressValue());
}

void AddToken(CLI::App& app, paxosfs::cli::TokenFlags& flags) {
  CLI::App* token = app.add_subcommand("token", "Join tokens for new nodes");
  token->require_subcommand(1);
  CLI::App* create = token->add_subcommand(
      "create", "Print a one-use join token (on a node that holds the CA)");
  create->add_option("--data", flags.data_dir, "This node's data directory")
      ->capture_default_str();
  create
      ->add_option("--ttl", flags.ttl,
                   "How long the token is valid: 30m, 1h, 2d (1m to 30d)")
      ->capture_default_str();
  create->callback(
      [&flags] { std::exit(paxosfs::cli::RunTokenCreate(flags)); });
}

void AddMembers(CLI::App& app, paxosfs::cli::MembersFlags& flags) {
  CLI::App* members = app.add_subcommand(
      "members", "List the members, or change them one at a time");
  AddAdminAccess(members, flags.data_dir, flags.peer);
  members
      ->add_option("--timeout-ms", flags.timeout_ms,
                   "How long to look for a leader that takes the change")
      ->check(paxosfs::cli::WholeNumberValue(1, 3'600'000, "ms"))
      ->capture_default_str();
  CLI::App* add = members->add_subcommand(
      "add", "Admit a learner at an address (its `join` then finds itself)");
  add->add_option("address", flags.address, "HOST:PORT of its peer service")
      ->required()
      ->check(paxosfs::cli::AddressValue());
  struct Change {
    const char* name;
    const char* help;
  };
  for (Change c : {Change{"promote", "Make a learner a voter"},
                   Change{"demote", "Make a voter a learner"},
                   Change{"remove", "Remove a node from the cluster"}}) {
    CLI::App* sub = members->add_subcommand(c.name, c.help);
    sub->add_option("node", flags.node, "The node's id")
        ->required()
        ->check(paxosfs::cli::WholeNumberValue(1, UINT64_MAX, "node id"));
    sub->add_flag("--force", flags.force,
                  "Do it even if the cluster may lose its quorum of voters");
  }
  for (CLI::App* sub : members->get_subcommands({})) {
    std::string name = sub->get_name();
    sub->callback([&flags, name] {
      flags.action = name;
      std::exit(paxosfs::cli::RunMembers(flags));
    });
  }
  members->callback([&flags] { std::exit(paxosfs::cli::RunMembers(flags)); });
}

void AddRebuild(CLI::App& app, paxosfs::cli::RebuildFlags& flags) {
  CLI::App* rebuild = app.add_subcommand(
      "rebuild",
      "Recover a stopped node whose log or store is corrupt: move them aside "
      "and fetch the state from the peers at its next start");
  rebuild->add_option("--data", flags.data_dir, "The node's data directory")
      ->capture_default_str();
  rebuild
      ->add_option("--peer", flags.peer,
                   "HOST:PORT of a running member (default: the initial "
                   "members)")
      ->check(paxosfs::cli::AddressValue());
  rebuild->callback([&flags] { std::exit(paxosfs::cli::RunRebuild(flags)); });
}

void AddStatus(CLI::App& app, paxosfs::cli::StatusFlags& flags) {
  CLI::App* status =
      app.add_subcommand("status", "Show the cluster as one member sees it");
  AddAdminAccess(status, flags.data_dir, flags.peer);
  status->add_flag("--json", flags.json, "Print JSON instead of a table");
  status->callback([&flags] { std::exit(paxosfs::cli::RunStatus(flags)); });
}

void AddDemo(CLI::App& app, paxosfs::cli::DemoFlags& flags, std::string self) {
  CLI::App* demo = app.add_subcommand(
      "demo", "Run a local cluster on loopback with one mount per node");
  demo->add_option("--dir", flags.dir, "Where node<i>/ directories go")
      ->capture_default_str();
  demo->add_option("--nodes", flags.nodes, "Number of nodes (voters)")
      ->check(paxosfs::cli::WholeNumberValue(1, 9, "nodes"))
      ->capture_default_str();
  demo->add_option("--base-port", flags.base_port,
                   "Node i listens on 127.0.0.1:(base-port + i - 1)")
      ->check(paxosfs::cli::WholeNumberValue(1024, 65000, "port"))
      ->capture_default_str();
  demo->callback(
      [&flags, self] { std::exit(paxosfs::cli::RunDemo(flags, self)); });
}

}  // namespace

int main(int argc, char** argv) {
  // Debian builds Abseil without NDEBUG, which leaves its deadlock detector
  // on: every absl::Mutex that gRPC takes updates a lock graph (about 1 % of
  // all CPU samples of small writes). Our own locks are std::mutex.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{
      "paxosfs: a directory kept identical on every node by one Multi-Paxos "
      "log",
      "paxosfs"};
  app.set_version_flag("--version", paxosfs::cli::VersionString());
  app.require_subcommand(0, 1);
  paxosfs::cli::InitFlags init_flags;
  paxosfs::cli::ServeFlags serve_flags;
  paxosfs::cli::StatusFlags status_flags;
  paxosfs::cli::DemoFlags demo_flags;
  paxosfs::cli::JoinFlags join_flags;
  paxosfs::cli::MembersFlags members_flags;
  paxosfs::cli::TokenFlags token_flags;
  paxosfs::cli::RebuildFlags rebuild_flags;
  AddInit(app, init_flags);
  AddServe(app, serve_flags);
  AddJoin(app, join_flags);
  AddMembers(app, members_flags);
  AddRebuild(app, rebuild_flags);
  AddStatus(app, status_flags);
  AddToken(app, token_flags);
  // Children are started from this very binary.
  std::error_code ec;
  std::string self = std::filesystem::read_symlink("/proc/self/exe", ec);
  AddDemo(app, demo_flags, ec ? argv[0] : self.c_str());
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return paxosfs::cli::ReportParseError(app, e);
  }
  std::fputs(app.help().c_str(), stdout);
  return 0;
}
