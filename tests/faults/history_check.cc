// history_check FILE: replays the register check on a history a failed
// fault scenario saved (Workload::Save), to study or bisect an anomaly
// without rerunning the cluster. Exit code 0 if linearizable, 1 if not,
// 2 if the file cannot be read.
#include <fstream>
#include <iostream>
#include <sstream>

#include "tests/faults/checker.h"

int main(int argc, char** argv) {
  using namespace paxosfs::faults;
  if (argc != 2) {
    std::cerr << "usage: history_check FILE (a .history saved by a fault "
                 "scenario)\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  std::stringstream text;
  text << in.rdbuf();
  std::vector<Op> ops;
  std::map<std::string, std::string> initial;
  if (!in || !Parse(text.str(), &ops, &initial)) {
    std::cerr << argv[1] << ": not a saved history\n";
    return 2;
  }
  RegisterReport report = CheckRegisters(ops, initial);
  for (const std::string& anomaly : report.anomalies) std::cout << anomaly;
  std::cout << report.registers << " registers, " << report.ops_checked
            << " operations, " << report.search_steps << " search steps, "
            << report.anomalies.size() << " anomalies\n";
  return report.anomalies.empty() ? 0 : 1;
}
