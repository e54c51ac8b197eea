// The `paxosfs` command. Subcommands appear here only once they work.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "cli/init_command.h"
#include "cli/version.h"

namespace {

void AddInit(CLI::App& app, paxosfs::cli::InitFlags& flags) {
  CLI::App* init = app.add_subcommand(
      "init", "Create the data directory of a node of a new cluster");
  init->add_option("--data", flags.data_dir, "Data directory to create")
      ->required();
  init->add_option("--listen", flags.listen,
                   "HOST:PORT this node's peer service listens on")
      ->required();
  init->add_option("--node-id", flags.node_id, "This node's id (>= 1)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  init->add_option("--cluster-id", flags.cluster_id,
                   "Cluster id shared by every member (default: random)");
  init->add_option("--members", flags.members,
                   "The initial voters, ID@HOST:PORT,... (default: this node "
                   "alone)");
  init->callback([&flags] { std::exit(paxosfs::cli::RunInit(flags)); });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "paxosfs: a directory kept identical on every node by one Multi-Paxos "
      "log",
      "paxosfs"};
  app.set_version_flag("--version", paxosfs::cli::VersionString());
  app.require_subcommand(0, 1);
  paxosfs::cli::InitFlags init_flags;
  AddInit(app, init_flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  std::fputs(app.help().c_str(), stdout);
  return 0;
}
