// Linearizability of single registers by the Wing–Gong–Lowe search with
// Lowe's cache, the algorithm of Porcupine's checkSingle: call and return
// events sit in one time-ordered doubly linked list; the search linearizes
// the first call it can (removing its call and return), backtracks when it
// meets a return whose call is not linearized yet, and never revisits a
// (linearized set, value) pair. Operations of unknown outcome have no
// return event, so they never force a backtrack and may stay unlinearized.
#include <algorithm>
#include <sstream>
#include <unordered_set>

#include "tests/faults/checker.h"

namespace paxosfs::faults {
namespace {

struct Event {
  bool is_call = true;
  int op = 0;      // Index into the register's ops.
  int match = -1;  // For a call: its return event, or -1 (unknown outcome).
  int prev = -1, next = -1;
};

struct RegisterOp {
  bool is_write = false;
  int value = 0;  // Value id; 0 is the initial value.
  bool completes = true;
};

class Search {
 public:
  Search(std::vector<RegisterOp> ops, std::vector<Event> events)
      : ops_(std::move(ops)), events_(std::move(events)) {}

  // 1: linearizable, 0: not, -1: gave up after `max_steps`.
  int Run(int64_t max_steps, int64_t* steps) {
    std::vector<uint64_t> linearized((ops_.size() + 63) / 64, 0);
    int remaining = 0;
    for (const RegisterOp& op : ops_) remaining += op.completes ? 1 : 0;
    struct Frame {
      int call;
      int value;
    };
    std::vector<Frame> stack;
    std::unordered_set<std::string> cache;
    int value = 0;
    int e = events_[kHead].next;
    for (*steps = 0; remaining > 0; ++*steps) {
      if (*steps >= max_steps) return -1;
      if (e != -1 && events_[e].is_call) {
        const RegisterOp& op = ops_[events_[e].op];
        if (op.is_write || op.value == value) {
          int next_value = op.is_write ? op.value : value;
          Set(&linearized, events_[e].op, true);
          if (cache.insert(Key(linearized, next_value)).second) {
            stack.push_back({e, value});
            value = next_value;
            if (op.completes) --remaining;
            Lift(e);
            e = events_[kHead].next;
            continue;
          }
          Set(&linearized, events_[e].op, false);
        }
        e = events_[e].next;
        continue;
      }
      // A return (or the end of the list) with its call not linearized:
      // undo the latest choice and try the next call after it.
      if (stack.empty()) return 0;
      Frame top = stack.back();
      stack.pop_back();
      value = top.value;
      Set(&linearized, events_[top.call].op, false);
      if (ops_[events_[top.call].op].completes) ++remaining;
      Unlift(top.call);
      e = events_[top.call].next;
    }
    return 1;
  }

  static constexpr int kHead = 0;  // events_[0] is a sentinel.

 private:
  static void Set(std::vector<uint64_t>* bits, int i, bool on) {
    uint64_t mask = uint64_t{1} << (i % 64);
    (*bits)[i / 64] = on ? ((*bits)[i / 64] | mask) : ((*bits)[i / 64] & ~mask);
  }
  static std::string Key(const std::vector<uint64_t>& bits, int value) {
    std::string key(reinterpret_cast<const char*>(bits.data()),
                    bits.size() * sizeof(uint64_t));
    key.append(reinterpret_cast<const char*>(&value), sizeof(value));
    return key;
  }
  void Unlink(int e) {
    events_[events_[e].prev].next = events_[e].next;
    if (events_[e].next != -1) events_[events_[e].next].prev = events_[e].prev;
  }
  void Relink(int e) {
    events_[events_[e].prev].next = e;
    if (events_[e].next != -1) events_[events_[e].next].prev = e;
  }
  // Removes a call and its return; Unlift restores them in reverse order
  // (dancing links: removed events keep their neighbours).
  void Lift(int call) {
    Unlink(call);
    if (events_[call].match != -1) Unlink(events_[call].match);
  }
  void Unlift(int call) {
    if (events_[call].match != -1) Relink(events_[call].match);
    Relink(call);
  }

  std::vector<RegisterOp> ops_;
  std::vector<Event> events_;
};

// Builds the search input for one register: value ids, unknown writes that
// no read observed dropped (leaving one out of a linearization never breaks
// it, since no read depends on it), events sorted by time with calls before
// returns at equal times (the more permissive order).
Search BuildSearch(const std::vector<const Op*>& history,
                   const std::string& initial, std::string* anomaly) {
  std::map<std::string, int> ids = {{initial, 0}};
  for (const Op* op : history) {
    if (op->kind != OpKind::kWrite) continue;
    if (!ids.emplace(op->value, static_cast<int>(ids.size())).second) {
      *anomaly = "value written twice: '" + op->value + "'";
    }
  }
  std::unordered_set<std::string> read_values;
  for (const Op* op : history) {
    if (op->kind == OpKind::kRead) read_values.insert(op->value);
  }
  std::vector<RegisterOp> ops;
  std::vector<std::pair<int64_t, int>> times;  // (time, 2 * op + is_return)
  for (const Op* op : history) {
    bool completes = op->outcome == Outcome::kOk;
    if (op->kind == OpKind::kWrite && !completes &&
        read_values.count(op->value) == 0) {
      continue;
    }
    if (op->kind == OpKind::kRead && ids.count(op->value) == 0) {
      *anomaly = "read a value nobody wrote: " + Describe(*op);
    }
    int id = static_cast<int>(ops.size());
    ops.push_back({op->kind == OpKind::kWrite, ids[op->value], completes});
    times.push_back({op->invoke_ns, 2 * id});
    if (completes) times.push_back({op->complete_ns, 2 * id + 1});
  }
  std::sort(times.begin(), times.end());
  std::vector<Event> events(times.size() + 1);
  std::vector<int> call_event(ops.size(), -1);
  for (size_t i = 0; i < times.size(); ++i) {
    Event& ev = events[i + 1];
    ev.op = times[i].second / 2;
    ev.is_call = times[i].second % 2 == 0;
    ev.prev = static_cast<int>(i);
    ev.next = i + 1 < times.size() ? static_cast<int>(i + 2) : -1;
    if (ev.is_call) {
      call_event[ev.op] = static_cast<int>(i + 1);
    } else {
      events[call_event[ev.op]].match = static_cast<int>(i + 1);
    }
  }
  events[Search::kHead].next = times.empty() ? -1 : 1;
  return Search(std::move(ops), std::move(events));
}

std::string Show(const std::string& key, std::vector<const Op*> history,
                 size_t last = 200) {
  std::sort(history.begin(), history.end(), [](const Op* a, const Op* b) {
    return a->invoke_ns < b->invoke_ns;
  });
  std::ostringstream s;
  s << "register " << key << " (" << history.size() << " ops";
  size_t from = history.size() > last ? history.size() - last : 0;
  if (from > 0) s << ", the last " << last << " shown";
  s << "):\n";
  for (size_t i = from; i < history.size(); ++i) {
    s << "  " << Describe(*history[i]) << "\n";
  }
  return s.str();
}

// The history as it stood at `cutoff_ns`: operations invoked by then, those
// still running then counted as of unknown outcome (writes) or left out
// (reads).
std::vector<Op> AsOf(const std::vector<const Op*>& history, int64_t cutoff_ns) {
  std::vector<Op> prefix;
  for (const Op* op : history) {
    if (op->invoke_ns > cutoff_ns) continue;
    if (op->complete_ns <= cutoff_ns) {
      prefix.push_back(*op);
    } else if (op->kind == OpKind::kWrite) {
      prefix.push_back(*op);
      prefix.back().outcome = Outcome::kUnknown;
      prefix.back().complete_ns = kNever;
    }
  }
  return prefix;
}

int Decide(const std::vector<const Op*>& history, const std::string& initial,
           int64_t max_steps, int64_t* steps) {
  std::string anomaly;
  Search search = BuildSearch(history, initial, &anomaly);
  return anomaly.empty() ? search.Run(max_steps, steps) : 0;
}

// For a history that is not linearizable: the shortest prefix in time that
// already is not (bisection over invocation times; a prefix of a
// linearizable history is linearizable), shown up to the operation that
// breaks it.
std::string Explain(const std::string& key,
                    const std::vector<const Op*>& history,
                    const std::string& initial, int64_t max_steps) {
  std::vector<int64_t> times;
  for (const Op* op : history) times.push_back(op->invoke_ns);
  std::sort(times.begin(), times.end());
  size_t lo = 0, hi = times.size() - 1;  // times[hi] fails.
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    std::vector<Op> prefix = AsOf(history, times[mid]);
    std::vector<const Op*> pointers;
    for (const Op& op : prefix) pointers.push_back(&op);
    int64_t steps = 0;
    if (Decide(pointers, initial, max_steps, &steps) == 1) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  std::vector<const Op*> shown;
  for (const Op* op : history) {
    if (op->invoke_ns <= times[hi]) shown.push_back(op);
  }
  return "not linearizable; the shortest failing prefix ends with the last "
         "operation listed (still-running operations as of then count as "
         "unknown): " +
         Show(key, shown, 40);
}

}  // namespace

RegisterReport CheckRegisters(const std::vector<Op>& ops,
                              const std::map<std::string, std::string>& initial,
                              int64_t max_steps) {
  RegisterReport report;
  std::map<std::string, std::vector<const Op*>> by_key;
  for (const Op& op : ops) {
    if (op.kind == OpKind::kAppend) continue;
    if (op.kind == OpKind::kRead && op.outcome != Outcome::kOk) continue;
    if (op.kind == OpKind::kWrite && op.outcome == Outcome::kFail) continue;
    by_key[op.key].push_back(&op);
    if (op.kind == OpKind::kRead) ++report.reads_ok;
    if (op.kind == OpKind::kWrite) {
      ++(op.outcome == Outcome::kOk ? report.writes_ok : report.writes_unknown);
    }
  }
  for (const auto& [key, history] : by_key) {
    ++report.registers;
    auto it = initial.find(key);
    std::string anomaly;
    Search search =
        BuildSearch(history, it == initial.end() ? "" : it->second, &anomaly);
    if (!anomaly.empty()) {
      report.anomalies.push_back(anomaly + "\n" + Show(key, history));
      continue;
    }
    report.ops_checked += static_cast<int64_t>(history.size());
    int64_t steps = 0;
    int result = search.Run(max_steps, &steps);
    report.search_steps += steps;
    if (result == 0) {
      report.anomalies.push_back(Explain(
          key, history, it == initial.end() ? "" : it->second, max_steps));
    } else if (result < 0) {
      report.anomalies.push_back(
          "search bound of " + std::to_string(max_steps) +
          " steps hit, nothing proven: " + Show(key, history));
    }
  }
  return report;
}

}  // namespace paxosfs::faults
