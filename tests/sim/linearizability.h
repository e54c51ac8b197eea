// A per-key linearizability checker for a register whose writes return the
// value they replaced (Wing & Gong search with memoization, as in Porcupine).
// Histories are kept small per key (at most 64 operations) so the search is
// fast. Operations that never returned may or may not have taken effect.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace paxosfs::sim {

struct Op {
  static constexpr int64_t kPending = std::numeric_limits<int64_t>::max();
  bool write = false;
  uint64_t value = 0;  // Write: the new value. Read: the value observed.
  uint64_t old = 0;    // Write: the value it replaced (when it returned).
  int64_t invoke_ns = 0;
  int64_t response_ns = kPending;
  uint64_t client = 0;
  bool Done() const { return response_ns != kPending; }
};

// True if some order of the operations, each placed between its invocation
// and response, explains every result. Otherwise `why` describes the history.
bool CheckLinearizable(const std::vector<Op>& ops, std::string* why);

}  // namespace paxosfs::sim
