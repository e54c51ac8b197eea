// CLI11 glue for the checks of cli/input_checks.h, and the one place that
// turns a command-line error into a message and exit code 2.
//
// The exit codes are those of cli/input_checks.h.
//
// Thread safety: used while parsing, on the main thread.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

namespace paxosfs::cli {

// An option value that must be HOST:PORT (CheckAddress).
CLI::Validator AddressValue();
// An option value that must be a cluster id (CheckClusterId).
CLI::Validator ClusterIdValue();
// An option value that must be a whole number in [min, max]; `unit` names
// what it counts (shown in the error and in --help).
CLI::Validator WholeNumberValue(uint64_t min, uint64_t max,
                                const std::string& unit = "");

// Prints `error` prefixed with the command it belongs to and the --help to
// read; returns the exit code (0 for --help and --version, else
// kExitUsage).
int ReportParseError(const CLI::App& app, const CLI::ParseError& error);

}  // namespace paxosfs::cli
