#include "cli/validators.h"

#include <cstdio>

#include "cli/input_checks.h"

namespace paxosfs::cli {
namespace {

// A CLI11 validator: the empty string accepts, anything else is the error.
CLI::Validator FromStatus(std::function<Status(const std::string&)> check,
                          const std::string& description) {
  return CLI::Validator(
      [check](std::string& value) -> std::string {
        Status s = check(value);
        return s.ok() ? "" : s.message();
      },
      description);
}

// The subcommand being parsed when the error struck: CLI11 lists the
// subcommands it has entered.
std::string CommandName(const CLI::App& app) {
  std::string name = app.get_name();
  const CLI::App* at = &app;
  while (true) {
    auto subs = at->get_subcommands();
    if (subs.empty()) return name;
    at = subs.back();
    name += " " + at->get_name();
  }
}

}  // namespace

CLI::Validator AddressValue() { return FromStatus(CheckAddress, "HOST:PORT"); }

CLI::Validator ClusterIdValue() { return FromStatus(CheckClusterId, "ID"); }

CLI::Validator WholeNumberValue(uint64_t min, uint64_t max,
                                const std::string& unit) {
  return FromStatus(
      [=](const std::string& text) {
        return ParseWholeNumber(text, min, max, unit).status();
      },
      std::to_string(min) + ".." + std::to_string(max));
}

int ReportParseError(const CLI::App& app, const CLI::ParseError& error) {
  if (error.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
    return app.exit(error);  // --help, --version.
  }
  std::string command = CommandName(app);
  std::fprintf(stderr, "%s: %s\nRun `%s --help` for its options.\n",
               command.c_str(), error.what(), command.c_str());
  return kExitUsage;
}

}  // namespace paxosfs::cli
