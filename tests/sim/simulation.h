// Deterministic simulation of a paxosfs cluster: N replicas of the pure core
// in one thread, a seeded network that drops, delays, duplicates, reorders,
// partitions and clogs links, crashes and restarts with and without the disk,
// drifting clocks, membership changes, and clients whose histories are
// checked for linearizability. The same seed always gives the same trace.
#pragma once

#include <cstdint>
#include <string>

namespace paxosfs::sim {

struct SimOptions {
  uint64_t seed = 1;
  bool verbose = false;  // Print every event to stderr.
  // Half of the seeds (decided by the seed, apart from the rest of the
  // run) checkpoint their state machines and truncate their logs, so that
  // lagging and wiped nodes catch up through snapshots. Off: every seed
  // keeps its whole log, as before compaction was simulated (the
  // regression seeds replay their original traces).
  bool compaction = true;
};

struct SimResult {
  bool ok = true;
  std::string violation;  // First violation found; empty when ok.
  uint64_t trace_hash = 0;
  uint64_t events = 0;
  uint64_t ops_done = 0;
  // Reads a voter served from its applied state under a follower read
  // lease, with no message (the checker judges them like every read).
  uint64_t follower_lease_reads = 0;
  uint64_t slots = 0;
  int voters = 0;
  uint64_t rebuilds = 0;  // Snapshots installed.
};

SimResult RunSimulation(const SimOptions& options);

// The one command that replays `options` with a full trace.
std::string ReplayCommand(const SimOptions& options);

// If a check aborts the process mid-run (PAXOSFS_CHECK), print the replay
// command for the seed being simulated before dying.
void InstallReplayOnAbort();

}  // namespace paxosfs::sim
