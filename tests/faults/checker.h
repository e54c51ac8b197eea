// Checks a recorded client history after the faults healed:
//
//  - registers (files written whole and read whole) must be linearizable,
//    checked per file with the Wing–Gong–Lowe search (as Knossos and
//    Porcupine do): operations are tried in invocation order, a cache of
//    (set of linearized operations, register value) prunes revisits, and
//    an operation of unknown outcome may take effect at any point after its
//    invocation, or never;
//  - appends must all be there: every acknowledged line present exactly
//    once in the file on every node, no line that nobody appended, the same
//    file on every node, and lines in real-time order (a line acknowledged
//    before another was invoked comes first).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tests/faults/history.h"

namespace paxosfs::faults {

struct RegisterReport {
  int64_t registers = 0;
  int64_t ops_checked = 0;  // Operations that entered a search.
  int64_t writes_ok = 0, writes_unknown = 0, reads_ok = 0;
  int64_t search_steps = 0;  // Over all registers.
  // Empty when linearizable. Each entry names the register and shows its
  // history; a search that hit `max_steps` is an anomaly too (it proves
  // nothing).
  std::vector<std::string> anomalies;
};

// Checks every kWrite/kRead op of `ops` (others are ignored) grouped by key.
// `initial` holds each register's value before the history started; a key
// missing from it starts empty. Values written must be unique per key.
RegisterReport CheckRegisters(const std::vector<Op>& ops,
                              const std::map<std::string, std::string>& initial,
                              int64_t max_steps = 20'000'000);

struct AppendReport {
  int64_t acknowledged = 0;  // kOk appends.
  int64_t unknown = 0;       // kUnknown appends.
  // Acknowledged lines found, counted on the node where fewest were found:
  // must equal `acknowledged`.
  int64_t present = 0;
  int64_t unknown_present = 0;  // Unknown appends that took effect.
  std::vector<std::string> anomalies;
};

// Checks every kAppend op of `ops` against `files`: for each node, the
// final contents of each append file (key -> contents) read after recovery.
// Appended values must be unique and contain no '\n'.
AppendReport CheckAppends(
    const std::vector<Op>& ops,
    const std::map<int, std::map<std::string, std::string>>& files);

}  // namespace paxosfs::faults
