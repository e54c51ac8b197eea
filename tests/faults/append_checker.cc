// Appends after recovery: nothing acknowledged lost, nothing invented,
// nothing applied twice, the same file everywhere, real-time order kept.
#include <algorithm>
#include <sstream>
#include <unordered_map>

#include "tests/faults/checker.h"

namespace paxosfs::faults {
namespace {

std::vector<std::string> Lines(const std::string& contents, bool* torn) {
  std::vector<std::string> lines;
  std::stringstream in(contents);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  *torn = !contents.empty() && contents.back() != '\n';
  return lines;
}

// A line acknowledged before another line was invoked must come first.
// Scanning from the end, `earliest_ack` is the earliest acknowledgement
// among lines further down the file; a line invoked after it is misplaced.
void CheckOrder(const std::vector<std::string>& lines,
                const std::unordered_map<std::string, const Op*>& by_value,
                const std::string& where, std::vector<std::string>* anomalies) {
  int64_t earliest_ack = kNever;
  const Op* earliest = nullptr;
  for (size_t i = lines.size(); i-- > 0;) {
    auto it = by_value.find(lines[i]);
    if (it == by_value.end()) continue;
    const Op* op = it->second;
    if (earliest != nullptr && earliest_ack < op->invoke_ns) {
      anomalies->push_back(where + ": '" + earliest->value +
                           "' was acknowledged before '" + op->value +
                           "' was invoked but comes after it");
      return;
    }
    if (op->complete_ns < earliest_ack) {
      earliest_ack = op->complete_ns;
      earliest = op;
    }
  }
}

struct FileCheck {
  int64_t acked_present = 0;
  int64_t unknown_present = 0;
};

FileCheck CheckFile(const std::string& where, const std::string& contents,
                    const std::unordered_map<std::string, const Op*>& by_value,
                    std::vector<std::string>* anomalies) {
  FileCheck check;
  bool torn = false;
  std::vector<std::string> lines = Lines(contents, &torn);
  if (torn) anomalies->push_back(where + ": the last line is cut short");
  std::unordered_map<std::string, int> seen;
  for (const std::string& line : lines) {
    auto it = by_value.find(line);
    if (it == by_value.end()) {
      anomalies->push_back(where + ": a line nobody appended: '" + line + "'");
      continue;
    }
    if (++seen[line] == 2) {
      anomalies->push_back(where +
                           ": appended twice: " + Describe(*it->second));
    }
  }
  for (const auto& [value, op] : by_value) {
    bool present = seen.count(value) > 0;
    if (op->outcome == Outcome::kOk && !present) {
      anomalies->push_back(where +
                           ": acknowledged append lost: " + Describe(*op));
    }
    if (present)
      ++(op->outcome == Outcome::kOk ? check.acked_present
                                     : check.unknown_present);
  }
  CheckOrder(lines, by_value, where, anomalies);
  return check;
}

}  // namespace

AppendReport CheckAppends(
    const std::vector<Op>& ops,
    const std::map<int, std::map<std::string, std::string>>& files) {
  AppendReport report;
  std::map<std::string, std::unordered_map<std::string, const Op*>> by_key;
  for (const Op& op : ops) {
    if (op.kind != OpKind::kAppend || op.outcome == Outcome::kFail) continue;
    if (!by_key[op.key].emplace(op.value, &op).second) {
      report.anomalies.push_back("value appended twice by the test: " +
                                 op.value);
    }
    ++(op.outcome == Outcome::kOk ? report.acknowledged : report.unknown);
  }
  bool first_node = true;
  std::map<std::string, std::string> reference;  // The first node's files.
  for (const auto& [node, node_files] : files) {
    int64_t acked = 0, unknown = 0;
    for (const auto& [key, values] : by_key) {
      std::string where = "node " + std::to_string(node) + " " + key;
      auto file = node_files.find(key);
      std::string contents = file == node_files.end() ? "" : file->second;
      FileCheck check = CheckFile(where, contents, values, &report.anomalies);
      acked += check.acked_present;
      unknown += check.unknown_present;
      if (first_node) {
        reference[key] = contents;
      } else if (reference[key] != contents) {
        report.anomalies.push_back(where + " differs from node " +
                                   std::to_string(files.begin()->first));
      }
    }
    report.present = first_node ? acked : std::min(report.present, acked);
    report.unknown_present = std::max(report.unknown_present, unknown);
    first_node = false;
  }
  return report;
}

}  // namespace paxosfs::faults
