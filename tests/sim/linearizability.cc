#include "tests/sim/linearizability.h"

#include <algorithm>
#include <set>
#include <sstream>
#include <utility>

#include "common/check.h"

namespace paxosfs::sim {
namespace {

class Search {
 public:
  explicit Search(const std::vector<Op>& ops) : ops_(ops) {
    for (size_t i = 0; i < ops.size(); ++i) {
      if (ops[i].Done()) required_ |= uint64_t{1} << i;
    }
  }

  bool Run(uint64_t mask, uint64_t state) {
    if ((mask & required_) == required_) return true;
    if (!seen_.insert({mask, state}).second) return false;
    int64_t horizon = Op::kPending;
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (!(mask >> i & 1)) horizon = std::min(horizon, ops_[i].response_ns);
    }
    for (size_t i = 0; i < ops_.size(); ++i) {
      const Op& op = ops_[i];
      if ((mask >> i & 1) || op.invoke_ns > horizon) continue;
      uint64_t next = mask | uint64_t{1} << i;
      if (!op.write) {
        if (op.value == state && Run(next, state)) return true;
      } else if (!op.Done() || op.old == state) {
        if (Run(next, op.value)) return true;
      }
    }
    return false;
  }

 private:
  const std::vector<Op>& ops_;
  uint64_t required_ = 0;
  std::set<std::pair<uint64_t, uint64_t>> seen_;
};

}  // namespace

bool CheckLinearizable(const std::vector<Op>& ops, std::string* why) {
  PAXOSFS_CHECK_MSG(ops.size() <= 64, "history too long for the checker");
  Search search(ops);
  if (search.Run(0, 0)) return true;
  std::ostringstream out;
  for (const Op& op : ops) {
    out << "  client " << op.client << (op.write ? " put " : " get ")
        << op.value;
    if (op.write && op.Done()) out << " (replaced " << op.old << ")";
    out << " [" << op.invoke_ns / 1000 << "us, ";
    if (op.Done()) {
      out << op.response_ns / 1000 << "us]\n";
    } else {
      out << "pending]\n";
    }
  }
  *why = out.str();
  return false;
}

}  // namespace paxosfs::sim
