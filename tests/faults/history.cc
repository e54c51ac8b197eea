#include "tests/faults/history.h"

#include <chrono>
#include <sstream>
#include <vector>

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

namespace {

std::string Escape(const std::string& in) {
  std::string out;
  for (char c : in) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Unescape(const std::string& in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '\\' || i + 1 == in.size()) {
      out += in[i];
      continue;
    }
    char c = in[++i];
    out += c == 't' ? '\t' : c == 'n' ? '\n' : c;
  }
  return out;
}

std::vector<std::string> Fields(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream in(line);
  for (std::string f; std::getline(in, f, '\t');) fields.push_back(f);
  return fields;
}

}  // namespace

std::string Serialize(const std::vector<Op>& ops,
                      const std::map<std::string, std::string>& initial) {
  std::ostringstream s;
  for (const auto& [key, value] : initial) {
    s << "initial\t" << Escape(key) << "\t" << Escape(value) << "\n";
  }
  for (const Op& op : ops) {
    s << "op\t" << op.client << "\t" << op.node << "\t"
      << static_cast<int>(op.kind) << "\t" << Escape(op.key) << "\t"
      << Escape(op.value) << "\t" << op.invoke_ns << "\t" << op.complete_ns
      << "\t" << static_cast<int>(op.outcome) << "\n";
  }
  return s.str();
}

bool Parse(const std::string& text, std::vector<Op>* ops,
           std::map<std::string, std::string>* initial) {
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> f = Fields(line);
    if (f.size() == 3 && f[0] == "initial") {
      (*initial)[Unescape(f[1])] = Unescape(f[2]);
    } else if (f.size() == 9 && f[0] == "op") {
      Op op;
      op.client = std::stoi(f[1]);
      op.node = std::stoi(f[2]);
      op.kind = static_cast<OpKind>(std::stoi(f[3]));
      op.key = Unescape(f[4]);
      op.value = Unescape(f[5]);
      op.invoke_ns = std::stoll(f[6]);
      op.complete_ns = std::stoll(f[7]);
      op.outcome = static_cast<Outcome>(std::stoi(f[8]));
      ops->push_back(op);
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace paxosfs::faults
