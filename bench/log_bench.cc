// log_bench: FileLog append+Sync throughput with group commit, against a
// plain write+fdatasync loop on the same disk in the same run.
//
// Usage: log_bench [--dir=DIR] [--seconds=S] [--rounds=N]
//   DIR: where to write (default: a fresh directory under $TMPDIR or /tmp,
//        removed at the end). Put it on the disk you want to measure.
//   S:   seconds per case and round (default 1).
//   N:   rounds; every number printed is a median over them (default 3).
//
// Each case runs T threads; each thread loops { Append one record; Sync }.
// The baseline is one thread looping { write(record); fdatasync } on a plain
// file. Ratios above 1 mean group commit beats one fdatasync per record.
// A last case follows one 1 MiB slot through an acceptor (accept, Sync, then
// chosen) and prints the disk bytes it costs.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "log/env.h"
#include "log/file_log.h"

namespace paxosfs::log {
namespace {

// Forwards to PosixEnv and counts fdatasyncs, to show how many appends one
// group commit covered, and bytes written, to show what a slot costs on disk.
class CountingEnv final : public Env {
 public:
  class File final : public WritableFile {
   public:
    File(std::unique_ptr<WritableFile> base, CountingEnv* env)
        : base_(std::move(base)), env_(env) {}
    Status Append(std::string_view data) override {
      env_->bytes_.fetch_add(static_cast<int64_t>(data.size()));
      return base_->Append(data);
    }
    Status Sync() override {
      env_->syncs_.fetch_add(1);
      return base_->Sync();
    }
    Status Seal() override {
      env_->syncs_.fetch_add(1);
      return base_->Seal();
    }

   private:
    std::unique_ptr<WritableFile> base_;
    CountingEnv* env_;
  };

  StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& name) override {
    return Wrap(base_->NewWritableFile(name));
  }
  StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& name) override {
    return Wrap(base_->NewAppendableFile(name));
  }
  StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& name) override {
    return base_->NewRandomAccessFile(name);
  }
  StatusOr<std::vector<std::string>> GetChildren(
      const std::string& dir) override {
    return base_->GetChildren(dir);
  }
  StatusOr<uint64_t> GetFileSize(const std::string& name) override {
    return base_->GetFileSize(name);
  }
  Status RemoveFile(const std::string& name) override {
    return base_->RemoveFile(name);
  }
  Status RenameFile(const std::string& from, const std::string& to) override {
    return base_->RenameFile(from, to);
  }
  Status TruncateFile(const std::string& name, uint64_t size) override {
    return base_->TruncateFile(name, size);
  }
  Status CreateDir(const std::string& dir) override {
    return base_->CreateDir(dir);
  }
  Status SyncDir(const std::string& dir) override {
    return base_->SyncDir(dir);
  }
  StatusOr<std::unique_ptr<FileLock>> LockFile(
      const std::string& name) override {
    return base_->LockFile(name);
  }

  int64_t syncs() const { return syncs_.load(); }
  int64_t bytes() const { return bytes_.load(); }

 private:
  StatusOr<std::unique_ptr<WritableFile>> Wrap(
      StatusOr<std::unique_ptr<WritableFile>> f) {
    if (!f.ok()) return f.status();
    return std::unique_ptr<WritableFile>(
        std::make_unique<File>(std::move(*f), this));
  }

  Env* const base_ = PosixEnv();
  std::atomic<int64_t> syncs_{0};
  std::atomic<int64_t> bytes_{0};
};

struct Result {
  double appends_per_s = 0;
  double mb_per_s = 0;
  double appends_per_sync = 0;
};

double Seconds(int64_t nanos) { return static_cast<double>(nanos) / 1e9; }

[[noreturn]] void Die(const Status& s) {
  std::fprintf(stderr, "log_bench: %s\n", s.ToString().c_str());
  std::exit(1);
}

// A FileLog in DIR/log on a CountingEnv, removed when done.
class BenchLog {
 public:
  explicit BenchLog(const std::string& dir) : dir_(dir + "/log") {
    StatusOr<std::unique_ptr<Log>> opened = OpenFileLog(&env_, dir_);
    if (!opened.ok()) Die(opened.status());
    log_ = std::move(*opened);
  }
  ~BenchLog() {
    log_.reset();
    std::filesystem::remove_all(dir_);
  }
  Log& log() { return *log_; }
  const CountingEnv& env() const { return env_; }

 private:
  const std::string dir_;
  CountingEnv env_;
  std::unique_ptr<Log> log_;
};

Result RunBaseline(const std::string& dir, size_t record_bytes,
                   double seconds) {
  std::string path = dir + "/baseline";
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) Die(Status::IOError("open " + path));
  std::string record(record_bytes, 'b');
  Clock& clock = SystemClock::Instance();
  int64_t start = clock.MonotonicNanos();
  int64_t end = start + static_cast<int64_t>(seconds * 1e9);
  int64_t n = 0;
  while (clock.MonotonicNanos() < end) {
    if (write(fd, record.data(), record.size()) !=
            static_cast<ssize_t>(record.size()) ||
        fdatasync(fd) != 0) {
      Die(Status::IOError(std::string("baseline: ") + strerror(errno)));
    }
    ++n;
  }
  double elapsed = Seconds(clock.MonotonicNanos() - start);
  close(fd);
  unlink(path.c_str());
  return {n / elapsed, n * record_bytes / elapsed / 1e6, 1.0};
}

Result RunLog(const std::string& dir, size_t record_bytes, int threads,
              double seconds) {
  BenchLog bench(dir);
  Log& log = bench.log();
  std::atomic<uint64_t> next_slot{1};
  std::atomic<int64_t> appends{0};
  Clock& clock = SystemClock::Instance();
  int64_t start = clock.MonotonicNanos();
  int64_t end = start + static_cast<int64_t>(seconds * 1e9);
  int64_t syncs_before = bench.env().syncs();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      Entry e;
      e.ballot_round = 1;
      e.ballot_node = 1;
      e.value.assign(record_bytes, 'v');
      while (clock.MonotonicNanos() < end) {
        e.slot = next_slot.fetch_add(1);
        Status s = log.Append(std::span<const Entry>(&e, 1));
        if (s.ok()) s = log.Sync();
        if (!s.ok()) Die(s);
        appends.fetch_add(1);
      }
    });
  }
  for (std::thread& w : workers) w.join();
  double elapsed = Seconds(clock.MonotonicNanos() - start);
  int64_t syncs = bench.env().syncs() - syncs_before;
  double n = static_cast<double>(appends.load());
  return {n / elapsed, n * record_bytes / elapsed / 1e6,
          syncs > 0 ? n / static_cast<double>(syncs) : 0};
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct SlotResult {
  double slots_per_s = 0;
  double disk_bytes_per_slot = 0;
  double chosen_append_us = 0;  // Mean time inside Append(chosen).
};

// One acceptor's path for a slot, as replica/driver.cc drives it: append the
// accepted value and Sync (a vote must be durable before the reply), then
// append the same value marked chosen, which is not synced on its own but
// rides along with the next slot's Sync.
SlotResult RunAcceptThenChosen(const std::string& dir, size_t value_bytes,
                               double seconds) {
  BenchLog bench(dir);
  Log& log = bench.log();
  Entry e{.ballot_round = 1,
          .ballot_node = 1,
          .value = std::string(value_bytes, 'v')};
  Clock& clock = SystemClock::Instance();
  int64_t bytes_before = bench.env().bytes();
  int64_t start = clock.MonotonicNanos();
  int64_t end = start + static_cast<int64_t>(seconds * 1e9);
  int64_t chosen_nanos = 0;
  uint64_t slots = 0;
  while (clock.MonotonicNanos() < end) {
    e.slot = ++slots;
    e.chosen = false;
    Status s = log.Append(std::span<const Entry>(&e, 1));
    if (s.ok()) s = log.Sync();
    e.chosen = true;
    int64_t chosen_start = clock.MonotonicNanos();
    if (s.ok()) s = log.Append(std::span<const Entry>(&e, 1));
    chosen_nanos += clock.MonotonicNanos() - chosen_start;
    if (!s.ok()) Die(s);
  }
  if (Status s = log.Sync(); !s.ok()) Die(s);
  double elapsed = Seconds(clock.MonotonicNanos() - start);
  double bytes = static_cast<double>(bench.env().bytes() - bytes_before);
  double n = static_cast<double>(slots);
  return {n / elapsed, bytes / n, static_cast<double>(chosen_nanos) / n / 1e3};
}

void RunAcceptThenChosenCase(const std::string& dir, double seconds,
                             int rounds) {
  constexpr size_t kValueBytes = 1 << 20;
  std::vector<double> slots, bytes, chosen_us;
  for (int round = 0; round < rounds; ++round) {
    SlotResult r = RunAcceptThenChosen(dir, kValueBytes, seconds);
    slots.push_back(r.slots_per_s);
    bytes.push_back(r.disk_bytes_per_slot);
    chosen_us.push_back(r.chosen_append_us);
  }
  std::printf("\n%-9s%-22s %9s %15s %12s %17s\n", "value", "case", "slots/s",
              "disk bytes/slot", "x value", "Append(chosen) us");
  std::printf("%4zu KiB  %-22s %9.1f %15.0f %11.3fx %17.1f\n",
              kValueBytes >> 10, "accept+Sync, chosen", Median(slots),
              Median(bytes), Median(bytes) / kValueBytes, Median(chosen_us));
}

// One record size: every round runs the baseline and then each log case, so
// a neighbour's burst on a shared disk hits a round, not a whole column; the
// table shows per-case medians over the rounds, and the median of each
// round's ratio to that round's baseline.
void RunSize(const std::string& dir, size_t kib, double seconds, int rounds) {
  const std::vector<int> thread_counts = {0, 1, 4, 16};  // 0: the baseline.
  size_t bytes = kib << 10;
  std::vector<std::vector<Result>> results(thread_counts.size());
  std::vector<std::vector<double>> ratios(thread_counts.size());
  for (int round = 0; round < rounds; ++round) {
    Result base = RunBaseline(dir, bytes, seconds);
    for (size_t c = 0; c < thread_counts.size(); ++c) {
      int threads = thread_counts[c];
      Result r = threads == 0 ? base : RunLog(dir, bytes, threads, seconds);
      results[c].push_back(r);
      ratios[c].push_back(r.appends_per_s / base.appends_per_s);
    }
  }
  for (size_t c = 0; c < thread_counts.size(); ++c) {
    int threads = thread_counts[c];
    std::string writer = threads == 0
                             ? "write+fdatasync"
                             : "log, " + std::to_string(threads) + " thread" +
                                   (threads > 1 ? "s" : "");
    std::vector<double> appends, mb, per_sync;
    for (const Result& r : results[c]) {
      appends.push_back(r.appends_per_s);
      mb.push_back(r.mb_per_s);
      per_sync.push_back(r.appends_per_sync);
    }
    std::printf("%3zu KiB  %-16s %11.0f %9.1f %13.1f %11.2fx\n", kib,
                writer.c_str(), Median(appends), Median(mb), Median(per_sync),
                Median(ratios[c]));
  }
}

int Main(int argc, char** argv) {
  std::string dir;
  double seconds = 1;
  int rounds = 3;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("--dir=")) {
      dir = arg.substr(6);
    } else if (arg.starts_with("--seconds=")) {
      seconds = std::atof(argv[i] + 10);
    } else if (arg.starts_with("--rounds=")) {
      rounds = std::max(1, std::atoi(argv[i] + 9));
    } else {
      std::fprintf(stderr,
                   "usage: log_bench [--dir=DIR] [--seconds=S] [--rounds=N]\n");
      return 2;
    }
  }
  bool own_dir = dir.empty();
  if (own_dir) {
    const char* tmp = getenv("TMPDIR");
    dir = std::string(tmp ? tmp : "/tmp") + "/log_bench_XXXXXX";
    if (mkdtemp(dir.data()) == nullptr) Die(Status::IOError("mkdtemp"));
  }
  std::printf("log_bench: dir=%s, %.1f s per case, median of %d rounds\n",
              dir.c_str(), seconds, rounds);
  std::printf("%-9s%-16s %11s %9s %13s %12s\n", "record", "writer", "appends/s",
              "MB/s", "appends/sync", "vs baseline");
  for (size_t kib : {4, 64}) RunSize(dir, kib, seconds, rounds);
  RunAcceptThenChosenCase(dir, seconds, rounds);
  if (own_dir) std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace paxosfs::log

int main(int argc, char** argv) { return paxosfs::log::Main(argc, argv); }
