// Runs simulation seeds. Usage:
//   sim_runner [--seeds N] [--first-seed S] [--seed S] [--verbose]
// Prints each failing seed with the command that replays it; exits 1 if any
// seed failed.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tests/sim/simulation.h"

int main(int argc, char** argv) {
  uint64_t first = 1, count = 100;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    bool has_value = i + 1 < argc;
    if (arg == "--seeds" && has_value) {
      count = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--first-seed" && has_value) {
      first = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--seed" && has_value) {
      first = std::strtoull(argv[++i], nullptr, 10);
      count = 1;
    } else if (arg == "--verbose") {
      verbose = true;
    } else {
      std::fprintf(stderr,
                   "usage: sim_runner [--seeds N] [--first-seed S] "
                   "[--seed S] [--verbose]\n");
      return 2;
    }
  }
  paxosfs::sim::InstallReplayOnAbort();
  auto start = std::chrono::steady_clock::now();
  uint64_t failures = 0, events = 0, ops = 0, lease_reads = 0;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    paxosfs::sim::SimResult r =
        paxosfs::sim::RunSimulation({.seed = seed, .verbose = verbose});
    events += r.events;
    ops += r.ops_done;
    lease_reads += r.follower_lease_reads;
    if (verbose || !r.ok) {
      std::printf(
          "seed %llu: %s (%d voters, %llu slots, %llu ops, trace %016llx)\n",
          static_cast<unsigned long long>(seed),
          r.ok ? "ok" : r.violation.c_str(), r.voters,
          static_cast<unsigned long long>(r.slots),
          static_cast<unsigned long long>(r.ops_done),
          static_cast<unsigned long long>(r.trace_hash));
    }
    if (!r.ok) {
      ++failures;
      std::printf("  replay: %s\n", paxosfs::sim::ReplayCommand(seed).c_str());
    }
  }
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::printf(
      "%llu seeds, %llu failed, %llu events, %llu ops (%llu follower lease "
      "reads), %.1f s\n",
      static_cast<unsigned long long>(count),
      static_cast<unsigned long long>(failures),
      static_cast<unsigned long long>(events),
      static_cast<unsigned long long>(ops),
      static_cast<unsigned long long>(lease_reads), secs);
  return failures == 0 ? 0 : 1;
}
