// A client history for the fault suite: every operation a test client made
// on a mount, with its invocation and completion times taken from one
// process's CLOCK_MONOTONIC (std::chrono::steady_clock), so the real-time
// order of operations on different mounts is comparable.
//
// Thread safety: History is safe to Record() into from many threads.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace paxosfs::faults {

enum class OpKind {
  kWrite,   // Register write: the whole value written at offset 0, fsynced.
  kRead,    // Register read: the whole file read after a fresh open.
  kAppend,  // One line appended with O_APPEND, fsynced.
};

enum class Outcome {
  kOk,       // The syscalls returned success: acknowledged.
  kFail,     // Failed before anything could be proposed (e.g. open failed),
             // or a read that failed: it had no effect.
  kUnknown,  // Failed after a mutation may have been proposed (EAGAIN after
             // an election, ENOTCONN from a killed node): it may take effect
             // at any time after its invocation, or never.
};

// Completion time of an operation that never completed (kUnknown).
inline constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

struct Op {
  int client = 0;
  int node = 0;  // The mount the client used.
  OpKind kind = OpKind::kRead;
  std::string key;    // The register's or append file's name.
  std::string value;  // Written, appended (without '\n'), or read.
  int64_t invoke_ns = 0;
  int64_t complete_ns = 0;  // kNever if outcome is kUnknown.
  Outcome outcome = Outcome::kOk;
};

// Nanoseconds on the shared monotonic clock.
int64_t NowNs();

class History {
 public:
  void Record(Op op) {
    std::lock_guard<std::mutex> lock(mu_);
    ops_.push_back(std::move(op));
  }
  std::vector<Op> Ops() const {
    std::lock_guard<std::mutex> lock(mu_);
    return ops_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Op> ops_;  // GUARDED_BY(mu_)
};

// One line per operation, for failure messages.
std::string Describe(const Op& op);

// A saved history, replayable through the checker (history_check FILE):
// one tab-separated line per register's initial value and per operation,
// times in nanoseconds, values escaped.
std::string Serialize(const std::vector<Op>& ops,
                      const std::map<std::string, std::string>& initial);
// False (and nothing reliable in the outputs) on a malformed line.
bool Parse(const std::string& text, std::vector<Op>* ops,
           std::map<std::string, std::string>* initial);

}  // namespace paxosfs::faults
