// Internals of the simulation shared by simulation.cc (nodes, disks,
// network, event loop) and workload.cc (clients, faults, membership, checks).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include "common/checksum.h"
#include "replica/core/core.h"
#include "replica/core/rng.h"
#include "tests/sim/kv_machine.h"
#include "tests/sim/linearizability.h"
#include "tests/sim/simulation.h"

namespace paxosfs::sim {

using replica::NodeId;
constexpr int64_t kMs = 1'000'000;

enum class EventType : uint8_t {
  kDeliver,
  kTick,
  kSync,
  kClient,
  kFault,
  kForward,
  kRestart,
  kAdmin,
  kCheck,
  kRebuild
};

struct Event {
  int64_t at = 0;
  uint64_t seq = 0;
  EventType type = EventType::kTick;
  NodeId node = 0;
  NodeId from = 0;
  uint64_t incarnation = 0;
  std::string data;
  bool operator>(const Event& o) const {
    return at != o.at ? at > o.at : seq > o.seq;
  }
};

struct PendingSync {
  int64_t done_at = 0;
  std::optional<replica::Metadata> meta;
  std::vector<replica::LogRecord> records;
  std::vector<replica::Envelope> messages;
};

struct SimNode {
  NodeId id = 0;
  bool up = true;
  uint64_t incarnation = 0;
  uint64_t restarts = 0;
  double rate = 1.0;  // Local clock speed against true time.
  // The durable disk; `syncs` holds what was written but not yet synced.
  std::optional<replica::Metadata> meta;
  std::vector<replica::LogRecord> records;
  std::deque<PendingSync> syncs;
  std::unique_ptr<replica::Core> core;
  std::unique_ptr<KvMachine> kv;
  std::map<std::pair<uint64_t, uint64_t>, int> waiting_writes;
  std::map<uint64_t, std::pair<int, uint64_t>> waiting_reads;  // client, token
  replica::Ballot max_sent_promise;  // Highest promise it ever revealed.
  replica::Role last_role = replica::Role::kFollower;
  // What the last Pump published for lease reads, as the driver does:
  // reads between steps are served from it without asking the core.
  std::optional<replica::Core::LocalReadWindow> read_window;
  // The durable checkpoint of the state machine (the store) and how far
  // the log was truncated below it; with compaction off, nothing is kept
  // and a restart replays the log from slot 1.
  std::optional<KvMachine> checkpoint;
  uint64_t compacted = 0;
  bool rebuild_pending = false;
};

struct Client {
  uint64_t id = 0;
  NodeId home = 0;
  int ops_done = 0;
  bool busy = false;
  uint64_t key = 0;
  size_t op_index = 0;  // Into history_[key].
  uint64_t seq = 0;
  uint64_t token = 0;  // Bumped per completed op; stale timers are ignored.
  Put put;
};

class Simulation {
 public:
  explicit Simulation(const SimOptions& options);
  SimResult Run();

 private:
  // simulation.cc
  void Setup();
  replica::Options CoreOptions(NodeId id) const;
  void Schedule(int64_t at, EventType type, NodeId node, std::string data = {},
                NodeId from = 0);
  void Handle(const Event& e);
  int64_t LocalNow(const SimNode& n) const;
  void Pump(SimNode& n);
  void ApplyCommitted(SimNode& n, const replica::ChosenEntry& e);
  void FinishSync(SimNode& n);
  // Sends a core message, noting any promise it reveals.
  void SendPeer(SimNode& n, replica::Envelope& env);
  void SendNet(NodeId from, NodeId to, EventType type, std::string data);
  void Deliver(const Event& e);
  void Crash(SimNode& n, bool wipe);
  void Restart(SimNode& n);
  // Checkpoints `n` every compact_every_ applied slots and truncates its
  // log keep_slots_ below, as the store and the driver's LogTrim do; only
  // with no sync pending (messages waiting for one may name those slots).
  void MaybeCompact(SimNode& n);
  // `n` installs a snapshot of `peer`'s state in place (cli/rebuild.h): it
  // stops, takes the peer's state, truncates its log through it, restarts.
  void Rebuild(SimNode& n, NodeId peer);
  void Fail(const std::string& why);
  void Log(const std::string& line) const;
  SimNode* Leader();
  // workload.cc
  void ClientStep(Client& c);
  void SubmitWrite(Client& c);
  void SubmitRead(Client& c);
  void CompleteOp(Client& c, uint64_t value, uint64_t old);
  void Forward(const Event& e);
  void InjectFault();
  void Admin();
  bool WipeIsSafe() const;
  uint64_t CurrentDisk(const SimNode& n) const;
  bool Quiescent() const;
  bool MaybeChosenAbove(uint64_t applied) const;
  void FinalChecks();

  SimOptions opt_;
  replica::Rng rng_;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events_;
  uint64_t next_seq_ = 0;
  int64_t now_ = 0;
  Hasher trace_;
  SimResult result_;
  bool stop_ = false;

  int voters_ = 3;
  std::vector<SimNode> nodes_;  // Index i holds node id i + 1.
  replica::Config genesis_;
  std::vector<Client> clients_;
  std::map<uint64_t, std::vector<Op>> history_;
  std::map<uint64_t, uint64_t> chosen_oracle_;  // slot -> value checksum
  std::set<std::pair<uint64_t, uint64_t>> acked_writes_;
  // Configurations chosen (by slot) and proposed (in order), for the fault
  // scheduler's view of which voters must stay intact.
  std::map<uint64_t, replica::Config> chosen_configs_;
  std::vector<replica::Config> proposed_configs_;

  // Network and fault schedule.
  double drop_ = 0, dup_ = 0;
  int64_t delay_ns_ = 0, jitter_ns_ = 0;
  std::set<std::pair<NodeId, NodeId>> blocked_;
  std::map<std::pair<NodeId, NodeId>, int64_t> clogged_;
  int64_t fault_end_ns_ = 0;
  int64_t deadline_ns_ = 0;
  int ops_per_client_ = 0;
  uint64_t keys_ = 0;
  uint64_t compact_every_ = 0;  // 0: no checkpoints, no truncation.
  uint64_t keep_slots_ = 0;
};

}  // namespace paxosfs::sim
