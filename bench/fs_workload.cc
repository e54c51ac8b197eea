// Filesystem workloads for the benchmarks, run against any directory (the
// local disk, a FUSE passthrough, a paxosfs mount) so results compare
// directly. Prints one "name=value" per line for bench scripts to parse.
//
//   fs_workload seqwrite DIR [MiB] [writers] 1 MiB writes, fsync at the end;
//                                           writers > 1: a file each, at once
//   fs_workload seqread FILE                sequential 1 MiB reads
//   fs_workload fsync4k DIR [ops] [threads] 4 KiB pwrite+fdatasync each
//   fs_workload smallfiles DIR [files]      create+write 4 KiB+close, stat,
//                                           unlink
//   fs_workload visibility DIR_A DIR_B [ops] write on A, read back on B
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "fs_workload: %s: %s\n", what.c_str(),
               std::strerror(errno));
  std::exit(1);
}

void Check(bool ok, const std::string& what) {
  if (!ok) Die(what);
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * v.size()));
  return v[i];
}

void WriteAll(int fd, const char* buf, size_t n, off_t off) {
  while (n > 0) {
    ssize_t w = pwrite(fd, buf, n, off);
    Check(w > 0, "pwrite");
    buf += w;
    n -= static_cast<size_t>(w);
    off += w;
  }
}

// Writes `mib` MiB to `path` in 1 MiB writes, then fsyncs it.
void WriteFile(const std::string& path, long mib) {
  // Page-aligned, as dd, cp and fio allocate theirs: a FUSE request carries
  // at most 256 pages, so a 1 MiB buffer that starts mid-page reaches a
  // direct-I/O FUSE filesystem as two requests (bench/RESULTS.md,
  // 2026-12-03 second session).
  constexpr size_t kBytes = 1 << 20;
  std::unique_ptr<char, decltype(&std::free)> buf(
      static_cast<char*>(std::aligned_alloc(4096, kBytes)), &std::free);
  Check(buf != nullptr, "aligned_alloc");
  std::memset(buf.get(), 'p', kBytes);
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  Check(fd >= 0, "open " + path);
  for (long i = 0; i < mib; ++i) {
    buf.get()[0] = static_cast<char>(i);
    WriteAll(fd, buf.get(), kBytes, static_cast<off_t>(i) << 20);
  }
  Check(fsync(fd) == 0, "fsync");
  Check(close(fd) == 0, "close");
}

// One writer: DIR/seq.bin (seqread reads it next). Several: each its own
// share of the MiBs in DIR/seq.N.bin, at once, as when many files are
// copied in at the same time.
int SeqWrite(const std::string& dir, long mib, int writers) {
  auto start = Clock::now();
  if (writers <= 1) {
    WriteFile(dir + "/seq.bin", mib);
    std::printf("seqwrite_mib_s=%.1f\n", mib / Seconds(start));
    return 0;
  }
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      WriteFile(dir + "/seq." + std::to_string(w) + ".bin", mib / writers);
    });
  }
  for (std::thread& t : threads) t.join();
  std::printf("seqwrite%d_mib_s=%.1f\n", writers,
              (mib / writers) * writers / Seconds(start));
  return 0;
}

int SeqRead(const std::string& path) {
  std::vector<char> buf(1 << 20);
  auto start = Clock::now();
  int fd = open(path.c_str(), O_RDONLY);
  Check(fd >= 0, "open " + path);
  long total = 0;
  for (;;) {
    ssize_t n = read(fd, buf.data(), buf.size());
    Check(n >= 0, "read");
    if (n == 0) break;
    total += n;
  }
  close(fd);
  std::printf("seqread_mib_s=%.1f\n", total / 1048576.0 / Seconds(start));
  return 0;
}

int Fsync4k(const std::string& dir, int ops, int threads) {
  std::vector<std::vector<double>> lat(threads);
  std::vector<std::thread> workers;
  auto start = Clock::now();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::string path = dir + "/fsync4k." + std::to_string(t);
      int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      Check(fd >= 0, "open " + path);
      std::vector<char> buf(4096, 'f');
      for (int i = 0; i < ops; ++i) {
        auto op_start = Clock::now();
        WriteAll(fd, buf.data(), buf.size(),
                 static_cast<off_t>(i % 256) * 4096);
        Check(fdatasync(fd) == 0, "fdatasync");
        lat[t].push_back(Seconds(op_start) * 1e6);
      }
      close(fd);
    });
  }
  for (auto& w : workers) w.join();
  double elapsed = Seconds(start);
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  std::printf(
      "fsync4k_p50_us=%.0f\nfsync4k_p99_us=%.0f\nfsync4k_max_us=%.0f\n"
      "fsync4k_iops=%.0f\n",
      Percentile(all, 0.50), Percentile(all, 0.99), Percentile(all, 1.0),
      all.size() / elapsed);
  return 0;
}

int SmallFiles(const std::string& dir, int files) {
  std::vector<char> buf(4096, 's');
  auto name = [&](int i) { return dir + "/small." + std::to_string(i); };
  auto start = Clock::now();
  for (int i = 0; i < files; ++i) {
    int fd = open(name(i).c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    Check(fd >= 0, "create " + name(i));
    WriteAll(fd, buf.data(), buf.size(), 0);
    Check(close(fd) == 0, "close");
  }
  double create_s = Seconds(start);
  start = Clock::now();
  for (int i = 0; i < files; ++i) {
    struct stat st;
    Check(stat(name(i).c_str(), &st) == 0 && st.st_size == 4096, "stat");
  }
  double stat_s = Seconds(start);
  start = Clock::now();
  for (int i = 0; i < files; ++i) Check(unlink(name(i).c_str()) == 0, "unlink");
  double unlink_s = Seconds(start);
  std::printf("create_files_s=%.0f\nstat_files_s=%.0f\nunlink_files_s=%.0f\n",
              files / create_s, files / stat_s, files / unlink_s);
  return 0;
}

int Visibility(const std::string& dir_a, const std::string& dir_b, int ops) {
  std::string a = dir_a + "/visibility.txt", b = dir_b + "/visibility.txt";
  std::vector<double> lat;
  char got[64];
  for (int i = 0; i < ops; ++i) {
    std::string value = "value-" + std::to_string(i);
    auto start = Clock::now();
    int fd = open(a.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    Check(fd >= 0, "open " + a);
    WriteAll(fd, value.data(), value.size(), 0);
    Check(close(fd) == 0, "close");
    // A strongly consistent mount shows the value on the first read; others
    // are polled (bounded) so the number still means "time until visible".
    for (int tries = 0;; ++tries) {
      int rfd = open(b.c_str(), O_RDONLY);
      ssize_t n = rfd >= 0 ? read(rfd, got, sizeof(got)) : -1;
      if (rfd >= 0) close(rfd);
      if (n == static_cast<ssize_t>(value.size()) &&
          std::memcmp(got, value.data(), value.size()) == 0) {
        break;
      }
      if (tries > 100000) {
        std::fprintf(stderr, "fs_workload: %s never showed %s\n", b.c_str(),
                     value.c_str());
        return 1;
      }
    }
    lat.push_back(Seconds(start) * 1e6);
  }
  std::printf("visibility_p50_us=%.0f\nvisibility_p99_us=%.0f\n",
              Percentile(lat, 0.50), Percentile(lat, 0.99));
  return 0;
}

int Usage() {
  std::fprintf(
      stderr,
      "usage: fs_workload seqwrite DIR [MiB] [writers] | seqread FILE |\n"
      "       fsync4k DIR [ops] [threads] | smallfiles DIR [files] |\n"
      "       visibility DIR_A DIR_B [ops]\n");
  return 2;
}

long Arg(int argc, char** argv, int i, long fallback) {
  return argc > i ? std::atol(argv[i]) : fallback;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return Usage();
  std::string cmd = argv[1];
  if (cmd == "seqwrite") {
    return SeqWrite(argv[2], Arg(argc, argv, 3, 256),
                    static_cast<int>(Arg(argc, argv, 4, 1)));
  }
  if (cmd == "seqread") return SeqRead(argv[2]);
  if (cmd == "fsync4k") {
    return Fsync4k(argv[2], static_cast<int>(Arg(argc, argv, 3, 1000)),
                   static_cast<int>(Arg(argc, argv, 4, 1)));
  }
  if (cmd == "smallfiles") {
    return SmallFiles(argv[2], static_cast<int>(Arg(argc, argv, 3, 5000)));
  }
  if (cmd == "visibility" && argc >= 4) {
    return Visibility(argv[2], argv[3],
                      static_cast<int>(Arg(argc, argv, 4, 200)));
  }
  return Usage();
}
