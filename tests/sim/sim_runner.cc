// Runs simulation seeds. Usage:
//   sim_runner [--seeds N] [--first-seed S] [--seed S] [--no-compaction]
//              [--verbose]
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
  bool compaction = true;
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
    } else if (arg == "--no-compaction") {
      compaction = false;
    } else {
      std::fprintf(stderr,
                   "usage: sim_runner [--seeds N] [--first-seed S] "
                   "[--seed S] [--no-compaction] [--verbose]\n");
      return 2;
    }
  }
  paxosfs::sim::InstallReplayOnAbort();
  auto start = std::chrono::steady_clock::now();
  uint64_t failures = 0, events = 0, ops = 0, lease_reads = 0, rebuilds = 0;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    const paxosfs::sim::SimOptions options = {
        .seed = seed, .verbose = verbose, .compaction = compaction};
    paxosfs::sim::SimResult r = paxosfs::sim::RunSimulation(options);
    events += r.events;
    ops += r.ops_done;
    lease_reads += r.follower_lease_reads;
    rebuilds += r.rebuilds;
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
      std::printf("  replay: %s\n",
                  paxosfs::sim::ReplayCommand(options).c_str());
    }
  }
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::printf(
      "%llu seeds, %llu failed, %llu events, %llu ops (%llu follower lease "
      "reads), %llu snapshots installed, %.1f s\n",
      static_cast<unsigned long long>(count),
      static_cast<unsigned long long>(failures),
      static_cast<unsigned long long>(events),
      static_cast<unsigned long long>(ops),
      static_cast<unsigned long long>(lease_reads),
      static_cast<unsigned long long>(rebuilds), secs);
  return failures == 0 ? 0 : 1;
}
