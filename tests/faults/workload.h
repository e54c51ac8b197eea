// Test clients for the fault suite: threads that read and write small
// files used as registers and append lines to shared files, through every
// node's mount, recording each operation in a History. Operations that
// fail are retried after a short pause; a client's mount may be dead
// (node killed), paused (SIGSTOP: the syscall blocks until SIGCONT) or
// cut off (writes fail with EAGAIN after the daemon's 15 s bound).
//
// Thread safety: Start/Stop/FinalReads from one thread; the clients run on
// their own threads until Stop() returns.
#pragma once

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/faults/checker.h"
#include "tests/faults/history.h"

namespace paxosfs::faults {

struct WorkloadOptions {
  int registers = 4;  // Files r0..r{n-1}; fewer means more contention.
  int clients_per_node = 2;
  // Clients that only read registers: they keep reading on a node whose
  // writes are stuck (a leader cut off), where the others block in a write.
  int readers_per_node = 0;
  int append_files = 1;  // Files log0..; every client appends to each.
};

struct CheckSummary {
  RegisterReport registers;
  AppendReport appends;
  int64_t ops() const {
    return registers.ops_checked + appends.acknowledged + appends.unknown;
  }
  std::vector<std::string> anomalies() const;
};

class Workload {
 public:
  // `mounts` maps node id to its mount point.
  Workload(std::map<int, std::string> mounts, WorkloadOptions options);
  ~Workload();  // Stops the clients.

  // Creates the files through `via`'s mount. False on failure.
  bool Setup(int via);
  void Start();
  // Asks the clients to stop and joins them (each ends its current
  // operation first, which the daemon bounds).
  void Stop();
  // Adds or replaces a node's mount (a joined node); clients start on it
  // if the workload is running.
  void AddMount(int node, const std::string& mount);

  // After the faults healed: reads every register on every node in
  // `nodes` (recorded like any read) and every append file, retrying each
  // for up to `timeout`. False if some read never succeeded.
  bool FinalReads(const std::set<int>& nodes, std::chrono::seconds timeout);
  CheckSummary Check() const;

  // The longest time, within [from_ns, to_ns], during which no write or
  // append invoked on `nodes` succeeded: from `from_ns` to the first
  // success of a mutation invoked after it, then between successes.
  int64_t LongestGapMs(const std::set<int>& nodes, int64_t from_ns,
                       int64_t to_ns) const;

  const History& history() const { return history_; }
  // Saves the history for tests/faults/history_check; returns the path.
  std::string Save(const std::string& name) const;

 private:
  void Client(int client, int node, std::string mount, bool reader);
  void OneOp(int client, int node, const std::string& mount, int64_t seq,
             uint64_t random, bool reader);

  std::map<int, std::string> mounts_;
  WorkloadOptions options_;
  std::map<std::string, std::string> initial_;
  std::map<int, std::map<std::string, std::string>> final_files_;
  History history_;
  std::atomic<bool> stop_{false};
  bool running_ = false;
  int next_client_ = 1;
  std::vector<std::thread> threads_;
};

}  // namespace paxosfs::faults
