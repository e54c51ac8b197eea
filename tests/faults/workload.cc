#include "tests/faults/workload.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <random>

namespace paxosfs::faults {
namespace {

constexpr size_t kValueBytes = 16;  // Every register value has this size,
                                    // so a write at offset 0 replaces it.
constexpr int64_t kNsPerMs = 1'000'000;

std::string Register(int i) { return "r" + std::to_string(i); }
std::string AppendFile(int i) { return "log" + std::to_string(i); }

std::string Padded(std::string value) {
  value.resize(kValueBytes, '.');
  return value;
}

// Open, write at 0 (or append), fsync, close: the four steps of an
// acknowledged mutation. A failed open proposed nothing; any later
// failure may have. Descriptors are O_CLOEXEC: a process the test starts
// meanwhile (a node, nft) must not inherit one, or its exit would wait on
// a FLUSH to whichever node is paused.
Outcome Mutate(const std::string& path, const std::string& bytes, bool append) {
  int fd =
      open(path.c_str(), (append ? O_WRONLY | O_APPEND : O_WRONLY) | O_CLOEXEC);
  if (fd < 0) return Outcome::kFail;
  ssize_t n = append ? write(fd, bytes.data(), bytes.size())
                     : pwrite(fd, bytes.data(), bytes.size(), 0);
  bool ok = n == static_cast<ssize_t>(bytes.size()) && fsync(fd) == 0;
  ok = close(fd) == 0 && ok;
  return ok ? Outcome::kOk : Outcome::kUnknown;
}

bool ReadWhole(const std::string& path, std::string* out) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out->clear();
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out->append(buf, n);
  close(fd);
  return n == 0;
}

}  // namespace

std::vector<std::string> CheckSummary::anomalies() const {
  std::vector<std::string> all = registers.anomalies;
  all.insert(all.end(), appends.anomalies.begin(), appends.anomalies.end());
  return all;
}

Workload::Workload(std::map<int, std::string> mounts, WorkloadOptions options)
    : mounts_(std::move(mounts)), options_(options) {}

Workload::~Workload() { Stop(); }

bool Workload::Setup(int via) {
  const std::string& mount = mounts_.at(via);
  for (int i = 0; i < options_.registers; ++i) {
    std::string value = Padded("init-" + Register(i));
    std::ofstream out(mount + "/" + Register(i));
    out << value;
    out.close();
    if (!out) return false;
    initial_[Register(i)] = value;
  }
  for (int i = 0; i < options_.append_files; ++i) {
    std::ofstream out(mount + "/" + AppendFile(i));
    if (!out) return false;
  }
  return true;
}

void Workload::Start() {
  running_ = true;
  stop_ = false;
  for (const auto& [node, mount] : mounts_) AddMount(node, mount);
}

void Workload::AddMount(int node, const std::string& mount) {
  mounts_[node] = mount;
  if (!running_) return;
  for (int c = 0; c < options_.clients_per_node + options_.readers_per_node;
       ++c) {
    threads_.emplace_back(&Workload::Client, this, next_client_++, node, mount,
                          c >= options_.clients_per_node);
  }
}

void Workload::Stop() {
  stop_ = true;
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  running_ = false;
}

void Workload::Client(int client, int node, std::string mount, bool reader) {
  std::mt19937_64 rng(client * 7919 + NowNs());
  for (int64_t seq = 0; !stop_; ++seq) {
    OneOp(client, node, mount, seq, rng(), reader);
  }
}

void Workload::OneOp(int client, int node, const std::string& mount,
                     int64_t seq, uint64_t random, bool reader) {
  Op op;
  op.client = client;
  op.node = node;
  uint64_t choice = reader ? 4 : random % 10;  // 4..7: a read.
  if (choice < 4) {
    op.kind = OpKind::kWrite;
    op.key = Register(static_cast<int>(random / 10 % options_.registers));
    op.value = Padded("c" + std::to_string(client) + "-" + std::to_string(seq));
  } else if (choice < 8) {
    op.kind = OpKind::kRead;
    op.key = Register(static_cast<int>(random / 10 % options_.registers));
  } else {
    op.kind = OpKind::kAppend;
    op.key = AppendFile(static_cast<int>(random / 10 % options_.append_files));
    op.value = "a" + std::to_string(client) + "-" + std::to_string(seq);
  }
  std::string path = mount + "/" + op.key;
  op.invoke_ns = NowNs();
  if (op.kind == OpKind::kRead) {
    op.outcome = ReadWhole(path, &op.value) ? Outcome::kOk : Outcome::kFail;
  } else {
    op.outcome =
        Mutate(path, op.kind == OpKind::kAppend ? op.value + "\n" : op.value,
               op.kind == OpKind::kAppend);
  }
  op.complete_ns = op.outcome == Outcome::kUnknown ? kNever : NowNs();
  bool failed = op.outcome != Outcome::kOk;
  history_.Record(std::move(op));
  // A dead mount fails at once: pace the retries (not a synchronisation).
  if (failed) std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

bool Workload::FinalReads(const std::set<int>& nodes,
                          std::chrono::seconds timeout) {
  bool all = true;
  for (int node : nodes) {
    const std::string& mount = mounts_.at(node);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    auto read = [&](const std::string& key, Op* op) {
      op->invoke_ns = NowNs();
      while (!ReadWhole(mount + "/" + key, &op->value)) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        op->invoke_ns = NowNs();
      }
      op->complete_ns = NowNs();
      return true;
    };
    for (int i = 0; i < options_.registers; ++i) {
      Op op{1000 + node, node, OpKind::kRead, Register(i), "",
            0,           0,    Outcome::kOk};
      if (!read(Register(i), &op)) all = false;
      if (op.complete_ns != 0) history_.Record(op);
    }
    for (int i = 0; i < options_.append_files; ++i) {
      Op op;
      if (read(AppendFile(i), &op)) {
        final_files_[node][AppendFile(i)] = op.value;
      } else {
        all = false;
      }
    }
  }
  return all;
}

CheckSummary Workload::Check() const {
  std::vector<Op> ops = history_.Ops();
  return {CheckRegisters(ops, initial_), CheckAppends(ops, final_files_)};
}

int64_t Workload::LongestGapMs(const std::set<int>& nodes, int64_t from_ns,
                               int64_t to_ns) const {
  std::vector<Op> ops = history_.Ops();
  int64_t first = kNever;
  std::vector<int64_t> successes;
  for (const Op& op : ops) {
    if (op.kind == OpKind::kRead || op.outcome != Outcome::kOk ||
        nodes.count(op.node) == 0 || op.complete_ns > to_ns) {
      continue;
    }
    if (op.invoke_ns >= from_ns) first = std::min(first, op.complete_ns);
    successes.push_back(op.complete_ns);
  }
  if (first == kNever) return (to_ns - from_ns) / kNsPerMs;
  std::sort(successes.begin(), successes.end());
  int64_t longest = first - from_ns;
  for (size_t i = 1; i < successes.size(); ++i) {
    if (successes[i - 1] >= first) {
      longest = std::max(longest, successes[i] - successes[i - 1]);
    }
  }
  return longest / kNsPerMs;
}

std::string Workload::Save(const std::string& name) const {
  std::string path = "/tmp/paxosfs-faults-" + name + "-" +
                     std::to_string(getpid()) + ".history";
  std::vector<Op> ops = history_.Ops();
  std::sort(ops.begin(), ops.end(),
            [](const Op& a, const Op& b) { return a.invoke_ns < b.invoke_ns; });
  std::ofstream(path) << Serialize(ops, initial_);
  return path;
}

}  // namespace paxosfs::faults
