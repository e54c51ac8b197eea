#include "tests/faults/fault_fixture.h"

#include <signal.h>
#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <thread>

namespace paxosfs::faults {

using std::chrono::seconds;

FaultTest::FaultTest() : started_ns_(NowNs()) {
  const char* seed = std::getenv("PAXOSFS_FAULTS_SEED");
  seed_ = seed != nullptr ? std::strtoull(seed, nullptr, 10)
                          : static_cast<uint64_t>(NowNs() % 1000000007);
  rng_.seed(seed_);
  std::cout << "seed " << seed_ << " (replay: PAXOSFS_FAULTS_SEED=" << seed_
            << ")\n";
  net_ = std::make_unique<Network>();
}

FaultTest::~FaultTest() {
  // Paused nodes first (clients may be blocked on their mounts), clients
  // next, then the nodes (by PID, unmounted), then their namespaces.
  for (int node : std::set<int>(paused_)) Resume(node);
  workload_.reset();
  cluster_.reset();
  net_.reset();
  if (!clock_dir_.empty()) std::filesystem::remove_all(clock_dir_);
}

int FaultTest::Scale() {
  const char* full = std::getenv("PAXOSFS_FAULTS_FULL");
  return full != nullptr && std::string(full) == "1" ? 4 : 1;
}

bool FaultTest::StartCluster(int nodes, std::vector<std::string> serve_args) {
  cluster_ = std::make_unique<testing::Cluster>(
      nodes, std::move(serve_args), [this](int id) {
        testing::Placement placement = net_->Place(id);
        if (!clock_dir_.empty()) {
          SetClockRate(id, 1);
          placement.command_prefix.insert(
              placement.command_prefix.end(),
              {"env", "PAXOSFS_TEST_CLOCK_RATE_FILE=" + clock_dir_ + "/rate-" +
                          std::to_string(id)});
        }
        return placement;
      });
  if (Leader() != 0) return true;
  for (int i = 1; i <= nodes; ++i) std::cout << cluster_->LogTail(i);
  return false;
}

bool FaultTest::StartWorkload(WorkloadOptions options) {
  std::map<int, std::string> mounts;
  for (int i = 1; i <= cluster_->size(); ++i) mounts[i] = cluster_->mount(i);
  workload_ = std::make_unique<Workload>(mounts, options);
  if (!workload_->Setup(1) || !cluster_->WaitConverged()) return false;
  workload_->Start();
  return true;
}

void FaultTest::Run(std::chrono::milliseconds duration) {
  std::this_thread::sleep_for(duration);
}

int FaultTest::Leader(std::chrono::seconds timeout) {
  return cluster_->WaitReady(timeout);
}

int FaultTest::NewLeader(int old, std::chrono::seconds timeout) {
  int leader = 0;
  testing::Eventually(
      [&] {
        for (int i = 1; i <= cluster_->size(); ++i) {
          if (i == old || !cluster_->Running(i) || paused_.count(i)) continue;
          auto s = cluster_->Status(i);
          if (s && s->is_leader() && s->lease_valid()) {
            leader = i;
            return true;
          }
        }
        return false;
      },
      timeout);
  return leader;
}

void FaultTest::LeaderLost(int leader, int64_t at_ns) {
  std::set<int> survivors = AllNodes();
  survivors.erase(leader);
  losses_.push_back({at_ns, NowNs(), survivors});
}

void FaultTest::Rounds(int rounds, std::chrono::milliseconds hold,
                       const std::function<int(int, int)>& inject) {
  for (int round = 0; round < rounds; ++round) {
    Run(std::chrono::milliseconds(1500));
    int leader = Leader();
    ASSERT_NE(leader, 0) << "round " << round;
    int64_t at = NowNs();
    int lost = inject(round, leader);
    if (lost != 0) {
      EXPECT_NE(NewLeader(lost, seconds(30)), 0)
          << "round " << round << ": no leader elected without node " << lost;
    }
    Run(hold);
    if (lost != 0) LeaderLost(lost, at);
    net_->Heal();
    for (int node : std::set<int>(paused_)) Resume(node);
  }
}

void FaultTest::Pause(int node) {
  kill(cluster_->Pid(node), SIGSTOP);
  paused_.insert(node);
}

void FaultTest::Resume(int node) {
  if (cluster_->Running(node)) kill(cluster_->Pid(node), SIGCONT);
  paused_.erase(node);
}

void FaultTest::EnableTestClocks() {
  char dir[] = "/tmp/paxosfs-clocks.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  clock_dir_ = dir;
}

namespace {

// How cli/test_clock.cc logs a rate, so the line can be awaited.
std::string RateLine(double rate) {
  char text[64];
  std::snprintf(text, sizeof(text), "test clock rate now %.6g\n", rate);
  return text;
}

int64_t Occurrences(const std::string& text, const std::string& what) {
  int64_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

}  // namespace

void FaultTest::SetClockRate(int node, double rate) {
  ASSERT_FALSE(clock_dir_.empty()) << "EnableTestClocks() first";
  std::string path = clock_dir_ + "/rate-" + std::to_string(node);
  bool running = cluster_ && node <= cluster_->size() &&
                 cluster_->Running(node) && paused_.count(node) == 0;
  bool changes = clock_rates_.count(node) == 0 || clock_rates_[node] != rate;
  int64_t seen = running ? Occurrences(cluster_->Log(node), RateLine(rate)) : 0;
  // Renamed into place: the node never reads a half-written rate.
  std::ofstream(path + ".tmp") << rate << "\n";
  std::filesystem::rename(path + ".tmp", path);
  clock_rates_[node] = rate;
  if (!running || !changes) return;
  EXPECT_TRUE(testing::Eventually(
      [&] { return Occurrences(cluster_->Log(node), RateLine(rate)) > seen; },
      seconds(30)))
      << "node " << node << " did not take clock rate " << rate;
}

std::set<int> FaultTest::AllNodes() const {
  std::set<int> all;
  for (int i = 1; i <= cluster_->size(); ++i) all.insert(i);
  return all;
}

// A node the test did not stop whose process is a zombie crashed by
// itself; its wait status is the last field of /proc/PID/stat.
void FaultTest::ExpectNoCrash() {
  for (int node : AllNodes()) {
    if (!cluster_->Running(node)) continue;
    std::ifstream stat("/proc/" + std::to_string(cluster_->Pid(node)) +
                       "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)),
                     std::istreambuf_iterator<char>());
    size_t paren = text.rfind(')');
    if (paren == std::string::npos || text.size() < paren + 3 ||
        text[paren + 2] != 'Z') {
      continue;
    }
    std::string status = text.substr(text.find_last_of(' ') + 1);
    ADD_FAILURE() << "node " << node << " died by itself (wait status "
                  << status << ": signal " << (std::stoi(status) & 0x7f)
                  << ", exit code " << (std::stoi(status) >> 8) << "), seed "
                  << seed_ << "; its log ends:\n"
                  << cluster_->LogTail(node);
  }
}

void FaultTest::HealAndCheck(Expect expect) {
  ExpectNoCrash();
  net_->Heal();
  for (int node : std::set<int>(paused_)) Resume(node);
  for (int i = 1; i <= cluster_->size(); ++i) {
    if (!cluster_->Running(i)) cluster_->Start(i);
  }
  int64_t healed_ns = NowNs();
  ASSERT_NE(Leader(seconds(90)), 0) << "no leader after healing";
  // Progress: every node's clients complete a mutation after the heal.
  for (int node : AllNodes()) {
    EXPECT_TRUE(testing::Eventually(
        [&] {
          for (const Op& op : workload_->history().Ops()) {
            if (op.node == node && op.kind != OpKind::kRead &&
                op.outcome == Outcome::kOk && op.invoke_ns > healed_ns) {
              return true;
            }
          }
          return false;
        },
        seconds(60)))
        << "node " << node << " made no progress after healing\n"
        << cluster_->LogTail(node);
  }
  workload_->Stop();
  ExpectNoCrash();
  EXPECT_TRUE(cluster_->WaitConverged(seconds(90))) << "replicas differ";
  EXPECT_TRUE(workload_->FinalReads(AllNodes(), seconds(60)));
  CheckSummary summary = workload_->Check();
  int64_t worst = -1;
  for (const LeaderLoss& loss : losses_) {
    worst = std::max(worst, workload_->LongestGapMs(loss.survivors, loss.at_ns,
                                                    loss.until_ns));
  }
  Record(summary, worst);
  std::vector<std::string> anomalies = summary.anomalies();
  std::string name =
      ::testing::UnitTest::GetInstance()->current_test_info()->name();
  if (expect == Expect::kStaleReadsAllowed) {
    if (!summary.registers.anomalies.empty()) {
      std::cout << summary.registers.anomalies.size()
                << " registers not linearizable, as expected here (history in "
                << workload_->Save(name) << "); first:\n"
                << summary.registers.anomalies[0].substr(0, 3000) << "\n";
    }
    anomalies = summary.appends.anomalies;
  }
  if (!anomalies.empty()) {
    ADD_FAILURE() << anomalies.size() << " anomalies (seed " << seed_
                  << "); history in " << workload_->Save(name) << "; first:\n"
                  << anomalies[0].substr(0, 6000);
  }
  EXPECT_EQ(summary.appends.present, summary.appends.acknowledged);
}

void FaultTest::Record(const CheckSummary& summary, int64_t worst_ms) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string faults;
  for (const auto& [kind, n] : faults_) {
    faults += (faults.empty() ? "" : ",") + kind + "=" + std::to_string(n);
  }
  const RegisterReport& r = summary.registers;
  const AppendReport& a = summary.appends;
  std::ostringstream line;
  line << info->name() << "\t" << (NowNs() - started_ns_) / 1000000 << "\t"
       << faults << "\t" << summary.ops() << "\t" << r.writes_ok << "\t"
       << r.writes_unknown << "\t" << r.reads_ok << "\t" << a.acknowledged
       << "\t" << a.present << "\t" << a.unknown << "\t" << a.unknown_present
       << "\t" << summary.anomalies().size() << "\t" << worst_ms << "\t"
       << losses_.size() << "\t" << seed_ << "\n";
  std::cout << "figures: " << line.str();
  if (const char* file = std::getenv("PAXOSFS_FAULTS_RESULTS")) {
    std::ofstream(file, std::ios::app) << line.str();
  }
}

}  // namespace paxosfs::faults
