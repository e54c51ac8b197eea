// The `paxosfs` command. Subcommands appear here only once they work.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "cli/version.h"

int main(int argc, char** argv) {
  CLI::App app{
      "paxosfs: a directory kept identical on every node by one Multi-Paxos "
      "log",
      "paxosfs"};
  app.set_version_flag("--version", paxosfs::cli::VersionString());
  app.require_subcommand(0);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  std::fputs(app.help().c_str(), stdout);
  return 0;
}
