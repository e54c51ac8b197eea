#include "tests/faults/history.h"

#include <chrono>
#include <sstream>

namespace paxosfs::faults {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string Describe(const Op& op) {
  static const char* kKinds[] = {"write", "read", "append"};
  static const char* kOutcomes[] = {"ok", "fail", "unknown"};
  std::ostringstream s;
  s << "client " << op.client << "@node" << op.node << " "
    << kKinds[static_cast<int>(op.kind)] << " " << op.key << " '" << op.value
    << "' [" << op.invoke_ns / 1000000 << " ms, ";
  if (op.complete_ns == kNever) {
    s << "never";
  } else {
    s << op.complete_ns / 1000000 << " ms";
  }
  s << "] " << kOutcomes[static_cast<int>(op.outcome)];
  return s.str();
}

}  // namespace paxosfs::faults
