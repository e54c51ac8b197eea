// Measures what many learners cost the leader and how fast they see a
// change (bench/scale_test.sh drives it). Two phases against a running
// cluster:
//   load: `--writes` fsynced 64 KiB file writes into `--mount` (a node's
//         mount); reports the leader process's CPU time and the peer bytes
//         and messages it sent meanwhile;
//   visibility: `--samples` times, write a 4 KiB file, note the writer's
//         applied index, and time until every learner applied that far
//         (one polling thread per learner, every 2 ms).
// Prints one line of key=value pairs.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/admin_client.h"
#include "cli/tls_files.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Flags {
  std::string mount, writer, leader;
  std::string data;  // A node's data directory: its certificate.
  std::vector<std::string> learners;
  int leader_pid = 0;
  int writes = 200;
  int samples = 20;
};

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

bool Parse(int argc, char** argv, Flags* f) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--mount")
      f->mount = v;
    else if (k == "--writer")
      f->writer = v;
    else if (k == "--leader")
      f->leader = v;
    else if (k == "--data")
      f->data = v;
    else if (k == "--learners")
      f->learners = Split(v);
    else if (k == "--leader-pid")
      f->leader_pid = std::stoi(v);
    else if (k == "--writes")
      f->writes = std::stoi(v);
    else if (k == "--samples")
      f->samples = std::stoi(v);
    else
      return false;
  }
  return !f->mount.empty() && !f->writer.empty() && !f->leader.empty() &&
         !f->data.empty() && f->leader_pid > 0;
}

// utime + stime of `pid`, in ms.
double CpuMs(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(in)),
                  std::istreambuf_iterator<char>());
  std::stringstream rest(all.substr(all.rfind(')') + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return 1000.0 * static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK);
}

bool WriteSynced(const std::string& path, size_t bytes) {
  std::string data(bytes, 'x');
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return false;
  bool ok = write(fd, data.data(), data.size()) ==
                static_cast<ssize_t>(data.size()) &&
            fsync(fd) == 0;
  return close(fd) == 0 && ok;
}

paxosfs::tls::Material tls_material;  // Set once in main.

uint64_t Applied(const std::string& address) {
  auto s = paxosfs::cli::FetchStatus(tls_material, address, 2000);
  return s.ok() ? s->applied_index() : 0;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  if (!Parse(argc, argv, &f)) {
    std::fprintf(stderr,
                 "usage: learner_probe --mount DIR --writer ADDR --leader ADDR "
                 "--leader-pid PID --data NODE_DIR [--learners A,B,...] "
                 "[--writes N] "
                 "[--samples N]\n");
    return 2;
  }
  auto material = paxosfs::cli::LoadNodeTls(f.data);
  if (!material.ok()) {
    std::fprintf(stderr, "learner_probe: %s\n",
                 material.status().ToString().c_str());
    return 2;
  }
  tls_material = *material;
  auto before = paxosfs::cli::FetchStatus(tls_material, f.leader, 2000);
  double cpu0 = CpuMs(f.leader_pid);
  auto start = Clock::now();
  for (int i = 0; i < f.writes; ++i) {
    if (!WriteSynced(f.mount + "/load-" + std::to_string(i % 20), 64 << 10)) {
      std::fprintf(stderr, "learner_probe: write failed\n");
      return 1;
    }
  }
  double load_s = std::chrono::duration<double>(Clock::now() - start).count();
  double cpu = CpuMs(f.leader_pid) - cpu0;
  auto after = paxosfs::cli::FetchStatus(tls_material, f.leader, 2000);
  if (!before.ok() || !after.ok()) {
    std::fprintf(stderr, "learner_probe: the leader did not answer\n");
    return 1;
  }
  std::vector<double> latencies;
  int missed = 0;
  for (int i = 0; i < f.samples; ++i) {
    auto t0 = Clock::now();
    if (!WriteSynced(f.mount + "/probe", 4096)) return 1;
    uint64_t target = Applied(f.writer);
    std::vector<std::thread> pollers;
    std::vector<double> seen(f.learners.size(), -1);
    for (size_t l = 0; l < f.learners.size(); ++l) {
      pollers.emplace_back([&, l] {
        while (Clock::now() - t0 < std::chrono::seconds(10)) {
          if (Applied(f.learners[l]) >= target) {
            seen[l] =
                std::chrono::duration<double, std::milli>(Clock::now() - t0)
                    .count();
            return;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
      });
    }
    for (std::thread& t : pollers) t.join();
    for (double ms : seen) {
      if (ms < 0) {
        ++missed;
      } else {
        latencies.push_back(ms);
      }
    }
  }
  std::printf(
      "learners=%zu writes=%d load_s=%.2f leader_cpu_ms=%.0f "
      "leader_bytes_sent=%llu leader_msgs_sent=%llu visible_p50_ms=%.1f "
      "visible_p99_ms=%.1f visible_max_ms=%.1f missed=%d\n",
      f.learners.size(), f.writes, load_s, cpu,
      static_cast<unsigned long long>(after->peer_bytes_sent() -
                                      before->peer_bytes_sent()),
      static_cast<unsigned long long>(after->peer_messages_sent() -
                                      before->peer_messages_sent()),
      Percentile(latencies, 0.5), Percentile(latencies, 0.99),
      Percentile(latencies, 1.0), missed);
  return missed == 0 ? 0 : 1;
}
