// The simulated cluster: nodes with disks that lose unsynced writes, a
// seeded network, drifting clocks and the event loop.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <sstream>

#include "common/check.h"
#include "replica/core/codec.h"
#include "replica/core/log_values.h"
#include "tests/sim/sim_internal.h"

namespace paxosfs::sim {
namespace {

constexpr int64_t kTickNs = 10 * kMs;
constexpr int64_t kMaxSyncNs = 15 * kMs;

double Uniform(replica::Rng& rng) {
  return static_cast<double>(rng.Below(1'000'000)) / 1'000'000.0;
}

uint64_t CheckpointIndex(const SimNode& n) {
  return n.checkpoint ? n.checkpoint->AppliedIndex() : 0;
}

// The log forgets every slot through `through`.
void TruncateLog(SimNode& n, uint64_t through) {
  n.compacted = through;
  std::erase_if(n.records, [&n](const replica::LogRecord& r) {
    return r.slot <= n.compacted;
  });
}

volatile uint64_t g_current_seed = 0;
volatile bool g_current_compaction = true;

void OnAbort(int) {
  char line[200];
  int n = std::snprintf(line, sizeof line, "\nsim aborted; replay: %s\n",
                        ReplayCommand({.seed = g_current_seed,
                                       .compaction = g_current_compaction})
                            .c_str());
  if (n > 0) (void)!write(2, line, static_cast<size_t>(n));
  std::signal(SIGABRT, SIG_DFL);
  std::raise(SIGABRT);
}

}  // namespace

void InstallReplayOnAbort() { std::signal(SIGABRT, OnAbort); }

std::string ReplayCommand(const SimOptions& options) {
  return "build/tests/sim/sim_runner --seed " + std::to_string(options.seed) +
         (options.compaction ? "" : " --no-compaction") + " --verbose";
}

SimResult RunSimulation(const SimOptions& options) {
  g_current_seed = options.seed;
  g_current_compaction = options.compaction;
  Simulation sim(options);
  return sim.Run();
}

Simulation::Simulation(const SimOptions& options)
    : opt_(options), rng_(options.seed) {}

replica::Options Simulation::CoreOptions(NodeId id) const {
  replica::Options o;
  o.id = id;
  o.genesis = genesis_;
  o.pipeline_window = 4;
  o.batch_commands_max = 4;
  o.heartbeat_interval_ns = 20 * kMs;
  o.election_timeout_ns = 150 * kMs;
  o.lease_ns = 800 * kMs;
  o.max_drift_ppm = 10'000;
  o.lease_margin_ns = 1 * kMs;
  o.read_timeout_ns = 600 * kMs;
  const SimNode& n = nodes_[id - 1];
  o.seed = opt_.seed * 1000003 + id * 101 + n.restarts;
  return o;
}

void Simulation::Setup() {
  voters_ = rng_.Below(2) == 0 ? 3 : 5;
  int learners = 1 + static_cast<int>(rng_.Below(2));
  for (int i = 1; i <= voters_; ++i) {
    genesis_.voters.push_back({static_cast<NodeId>(i), 1000u + i});
  }
  for (int i = 1; i <= learners; ++i) genesis_.learners.push_back(voters_ + i);
  chosen_configs_[0] = genesis_;
  proposed_configs_.push_back(genesis_);
  nodes_.resize(voters_ + learners);
  for (size_t i = 0; i < nodes_.size(); ++i) {
    SimNode& n = nodes_[i];
    n.id = i + 1;
    // Clock rates within the drift bound ρ = 1%, extremes included.
    n.rate = 1.0 + 0.01 * (static_cast<double>(rng_.Below(5)) - 2.0) / 2.0;
    if (genesis_.IsVoter(n.id, 1000 + n.id)) {
      n.meta = replica::Core::BootstrapMetadata(genesis_, n.id);
    }
    Restart(n);
  }
  if (opt_.compaction) {
    // Drawn apart from rng_, so a seed without compaction runs exactly as
    // it did before compaction was simulated.
    replica::Rng draw(opt_.seed * 7919 + 13);
    if (draw.Below(2) == 0) {
      compact_every_ = 1 + draw.Below(6);
      keep_slots_ = draw.Below(4);
    }
  }
  drop_ = 0.15 * Uniform(rng_);
  dup_ = 0.05 * Uniform(rng_);
  delay_ns_ = (1 + static_cast<int64_t>(rng_.Below(5))) * kMs;
  jitter_ns_ = static_cast<int64_t>(rng_.Below(25)) * kMs;
  fault_end_ns_ = 10000 * kMs;
  deadline_ns_ = fault_end_ns_ + 30000 * kMs;
  ops_per_client_ = 10;
  keys_ = 2 + rng_.Below(2);
  for (int i = 0; i < 6; ++i) {
    Client c;
    c.id = i + 1;
    c.home = 1 + rng_.Below(nodes_.size());
    clients_.push_back(c);
    Schedule(rng_.Below(200) * kMs, EventType::kClient, 0, "0", c.id);
  }
  Schedule(300 * kMs, EventType::kFault, 0);
  Schedule(500 * kMs, EventType::kAdmin, 0);
  Schedule(fault_end_ns_, EventType::kCheck, 0);
  Log("setup: " + std::to_string(voters_) + " voters, " +
      std::to_string(learners) + " learners, checkpoint every " +
      std::to_string(compact_every_) + " slots keeping " +
      std::to_string(keep_slots_));
}

SimResult Simulation::Run() {
  Setup();
  while (!stop_ && !events_.empty()) {
    Event e = events_.top();
    events_.pop();
    now_ = e.at;
    trace_.UpdateU64(static_cast<uint64_t>(e.at));
    trace_.UpdateU64(static_cast<uint64_t>(e.type) << 32 | e.node);
    trace_.Update(e.data);
    ++result_.events;
    Handle(e);
  }
  if (result_.ok && !stop_) Fail("event queue ran dry");
  if (result_.ok) FinalChecks();
  result_.trace_hash = trace_.Digest();
  result_.voters = voters_;
  return result_;
}

void Simulation::Schedule(int64_t at, EventType type, NodeId node,
                          std::string data, NodeId from) {
  Event e;
  e.at = at;
  e.seq = next_seq_++;
  e.type = type;
  e.node = node;
  e.from = from;
  e.data = std::move(data);
  if (node != 0) e.incarnation = nodes_[node - 1].incarnation;
  events_.push(std::move(e));
}

void Simulation::Handle(const Event& e) {
  SimNode* n = e.node != 0 ? &nodes_[e.node - 1] : nullptr;
  switch (e.type) {
    case EventType::kDeliver:
      return Deliver(e);
    case EventType::kTick:
      if (!n->up || e.incarnation != n->incarnation) return;
      n->core->Tick(LocalNow(*n));
      Pump(*n);
      Schedule(now_ + kTickNs, EventType::kTick, n->id);
      return;
    case EventType::kSync:
      if (n->up && e.incarnation == n->incarnation) FinishSync(*n);
      return;
    case EventType::kClient: {
      Client& c = clients_[e.from - 1];
      if (e.data == std::to_string(c.token)) ClientStep(c);
      return;
    }
    case EventType::kFault:
      return InjectFault();
    case EventType::kForward:
      return Forward(e);
    case EventType::kRestart:
      if (!n->up) Restart(*n);
      return;
    case EventType::kAdmin:
      return Admin();
    case EventType::kRebuild:
      if (n->up && e.incarnation == n->incarnation) Rebuild(*n, e.from);
      return;
    case EventType::kCheck:
      if (now_ >= deadline_ns_) {
        std::ostringstream why;
        why << "no progress within " << (deadline_ns_ - fault_end_ns_) / kMs
            << " ms after faults stopped";
        return Fail(why.str());
      }
      if (Quiescent()) {
        stop_ = true;
        return;
      }
      Schedule(now_ + 100 * kMs, EventType::kCheck, 0);
      return;
  }
}

int64_t Simulation::LocalNow(const SimNode& n) const {
  return static_cast<int64_t>(static_cast<double>(now_) * n.rate);
}

void Simulation::Pump(SimNode& n) {
  replica::Ready r = n.core->TakeReady();
  n.core->CheckAll();
  n.read_window = n.core->LocalReadWindowAt(LocalNow(n));
  if (n.core->role() != n.last_role) {
    n.last_role = n.core->role();
    if (n.last_role == replica::Role::kLeader) {
      Log("node " + std::to_string(n.id) + " leads at ballot " +
          std::to_string(n.core->promised().round));
    }
  }
  for (const replica::ChosenEntry& e : r.committed) {
    if (stop_) return;  // A violation was recorded; the state is suspect.
    ApplyCommitted(n, e);
  }
  for (uint64_t id : r.reads_ready) {
    auto it = n.waiting_reads.find(id);
    if (it == n.waiting_reads.end()) continue;
    Client& c = clients_[it->second.first - 1];
    uint64_t token = it->second.second;
    n.waiting_reads.erase(it);
    if (c.busy && !c.put.value && c.token == token) {
      CompleteOp(c, n.kv->Get(c.key), 0);
    }
  }
  for (uint64_t id : r.reads_failed) n.waiting_reads.erase(id);
  if (r.snapshot_needed) {
    if (compact_every_ == 0) {
      return Fail("snapshot requested but nothing was compacted");
    }
    if (!n.rebuild_pending) {
      n.rebuild_pending = true;
      Schedule(now_, EventType::kRebuild, n.id, {}, r.snapshot_needed->first);
    }
  }
  if (!r.metadata && r.records.empty() && r.messages.empty()) {
    if (n.syncs.empty()) MaybeCompact(n);
    return;
  }
  // Group commit: one fsync in flight; everything written meanwhile waits
  // for the next one, which starts when the current one ends.
  if (n.syncs.size() < 2) {
    PendingSync s;
    int64_t start = n.syncs.empty() ? now_ : n.syncs.back().done_at;
    s.done_at = start + static_cast<int64_t>(rng_.Below(kMaxSyncNs));
    n.syncs.push_back(std::move(s));
    Schedule(n.syncs.back().done_at, EventType::kSync, n.id);
  }
  PendingSync& s = n.syncs.back();
  if (r.metadata) s.meta = std::move(r.metadata);
  for (replica::LogRecord& rec : r.records) s.records.push_back(std::move(rec));
  for (replica::Envelope& env : r.messages)
    s.messages.push_back(std::move(env));
}

void Simulation::ApplyCommitted(SimNode& n, const replica::ChosenEntry& e) {
  uint64_t sum = Checksum64(e.value);
  auto [it, fresh] = chosen_oracle_.try_emplace(e.slot, sum);
  if (!fresh && it->second != sum) {
    return Fail("agreement: node " + std::to_string(n.id) +
                " applied a different value at slot " + std::to_string(e.slot));
  }
  result_.slots = std::max<uint64_t>(result_.slots, e.slot);
  if (fresh) {
    StatusOr<replica::Value> v = replica::DecodeValue(e.value);
    PAXOSFS_CHECK(v.ok());
    if (v->kind == replica::Value::Kind::kConfig) {
      chosen_configs_[e.slot] = v->config;
    }
  }
  StatusOr<std::vector<std::string>> results = n.kv->Apply(e.slot, e.commands);
  PAXOSFS_CHECK(results.ok());
  for (size_t i = 0; i < e.commands.size(); ++i) {
    Put put = DecodePut(e.commands[i]);
    auto w = n.waiting_writes.find({put.client, put.seq});
    if (w == n.waiting_writes.end()) continue;
    n.waiting_writes.erase(w);
    Client& c = clients_[put.client - 1];
    if (c.busy && c.put.value && c.seq == put.seq) {
      CompleteOp(c, c.put.value, DecodeResult((*results)[i]));
    }
  }
}

void Simulation::FinishSync(SimNode& n) {
  while (!n.syncs.empty() && n.syncs.front().done_at <= now_) {
    PendingSync s = std::move(n.syncs.front());
    n.syncs.pop_front();
    if (s.meta) n.meta = std::move(s.meta);
    for (replica::LogRecord& rec : s.records) {
      // Below the truncation point a log keeps nothing.
      if (rec.slot > n.compacted) n.records.push_back(std::move(rec));
    }
    for (replica::Envelope& env : s.messages) SendPeer(n, env);
  }
  // As the driver truncates after a turn's messages left: a message filled
  // from the log must find the slots it names there.
  if (n.syncs.empty()) MaybeCompact(n);
}

void Simulation::SendPeer(SimNode& n, replica::Envelope& env) {
  // Applied values live only in the node's durable records, as in a real
  // log; the latest record for a slot is the one a log would return.
  Status filled = replica::FillValuesFromLog(
      env.msg, [&n](uint64_t slot) -> StatusOr<replica::LogRecord> {
        for (auto it = n.records.rbegin(); it != n.records.rend(); ++it) {
          if (it->slot == slot) return *it;
        }
        return Status::NotFound("no record");
      });
  if (!filled.ok()) {
    return Fail("node " + std::to_string(n.id) +
                " cannot send a value it "
                "applied: " +
                filled.ToString());
  }
  const replica::Message& m = env.msg;
  bool reveals = m.ok && (m.type == replica::MsgType::kPromise ||
                          m.type == replica::MsgType::kAccepted ||
                          m.type == replica::MsgType::kHeartbeatReply);
  if (reveals) n.max_sent_promise = std::max(n.max_sent_promise, m.ballot);
  SendNet(env.from, env.to, EventType::kDeliver, replica::EncodeMessage(m));
}

void Simulation::SendNet(NodeId from, NodeId to, EventType type,
                         std::string data) {
  if (blocked_.count({from, to}) || Uniform(rng_) < drop_) return;
  int copies = Uniform(rng_) < dup_ ? 2 : 1;
  for (int i = 0; i < copies; ++i) {
    int64_t delay =
        delay_ns_ +
        static_cast<int64_t>(Uniform(rng_) * static_cast<double>(jitter_ns_));
    auto clog = clogged_.find({from, to});
    if (clog != clogged_.end()) delay += clog->second;
    Schedule(now_ + delay, type, to, data, from);
  }
}

void Simulation::Deliver(const Event& e) {
  SimNode& n = nodes_[e.node - 1];
  if (!n.up) return;
  StatusOr<replica::Message> m = replica::DecodeMessage(e.data);
  PAXOSFS_CHECK_MSG(m.ok(), "the codec failed to decode its own output");
  if (opt_.verbose) {
    Log(std::to_string(e.from) + " -> " + std::to_string(e.node) + " " +
        replica::MsgTypeName(m->type) +
        " b=" + std::to_string(m->ballot.round) + "." +
        std::to_string(m->ballot.node) + (m->ok ? " ok" : ""));
  }
  n.core->Step(replica::Envelope{e.from, e.node, std::move(*m)}, LocalNow(n));
  Pump(n);
}

void Simulation::Crash(SimNode& n, bool wipe) {
  Log("crash node " + std::to_string(n.id) +
      (wipe ? " and wipe its disk" : ""));
  n.up = false;
  n.read_window.reset();
  ++n.incarnation;
  n.syncs.clear();  // Unsynced writes and the messages behind them are lost.
  n.core.reset();
  n.kv.reset();
  n.waiting_writes.clear();
  n.waiting_reads.clear();
  n.rebuild_pending = false;
  if (wipe) {
    n.meta.reset();
    n.records.clear();
    n.checkpoint.reset();
    n.compacted = 0;
    n.max_sent_promise = {};
  }
}

void Simulation::MaybeCompact(SimNode& n) {
  if (compact_every_ == 0) return;
  const uint64_t applied = n.kv->AppliedIndex();
  if (applied < CheckpointIndex(n) + compact_every_) return;
  n.checkpoint = *n.kv;
  if (applied <= n.compacted + keep_slots_) return;
  TruncateLog(n, applied - keep_slots_);
  n.core->Compacted(n.compacted);
}

void Simulation::Rebuild(SimNode& n, NodeId peer) {
  const SimNode& from = nodes_[peer - 1];
  Crash(n, /*wipe=*/false);
  if (from.up && from.kv->AppliedIndex() > CheckpointIndex(n)) {
    n.checkpoint = *from.kv;
    TruncateLog(n, std::max(n.compacted, from.kv->AppliedIndex()));
    // The slots it skips may have chosen configurations: it takes the
    // peer's history through the snapshot (the log's metadata keeps them).
    if (!n.meta) {
      n.meta = replica::Metadata{};
      n.meta->disk_id = rng_.Next() | 1;
    }
    std::map<uint64_t, replica::Config> configs(n.meta->configs.begin(),
                                                n.meta->configs.end());
    for (const auto& [slot, config] : from.core->configs()) {
      if (slot <= n.compacted) configs.emplace(slot, config);
    }
    n.meta->configs.assign(configs.begin(), configs.end());
    ++result_.rebuilds;
    Log("node " + std::to_string(n.id) + " installs a snapshot of node " +
        std::to_string(peer) + " at slot " + std::to_string(n.compacted));
  }
  Restart(n);
}

void Simulation::Restart(SimNode& n) {
  n.up = true;
  ++n.incarnation;
  ++n.restarts;
  replica::PersistentState disk;
  disk.metadata = n.meta;
  disk.records = n.records;
  disk.applied_index = CheckpointIndex(n);
  disk.compacted_index = n.compacted;
  n.kv = n.checkpoint ? std::make_unique<KvMachine>(*n.checkpoint)
                      : std::make_unique<KvMachine>();
  n.core = std::make_unique<replica::Core>(CoreOptions(n.id), std::move(disk),
                                           LocalNow(n));
  n.last_role = replica::Role::kFollower;
  if (n.core->promised() < n.max_sent_promise) {
    return Fail("node " + std::to_string(n.id) +
                " forgot a promise it revealed before its restart");
  }
  Log("start node " + std::to_string(n.id) + " disk " +
      std::to_string(n.core->disk_id()));
  Pump(n);
  Schedule(now_ + static_cast<int64_t>(rng_.Below(kTickNs)), EventType::kTick,
           n.id);
}

void Simulation::Fail(const std::string& why) {
  if (!result_.ok) return;
  result_.ok = false;
  result_.violation = why;
  stop_ = true;
  Log("VIOLATION: " + why);
  for (const Client& c : clients_) {
    Log("  client " + std::to_string(c.id) + " home " + std::to_string(c.home) +
        (c.busy ? (c.put.value ? " busy put" : " busy get") : " idle") +
        " done " + std::to_string(c.ops_done));
  }
  for (const SimNode& n : nodes_) {
    if (!n.up) {
      Log("  node " + std::to_string(n.id) + " down");
      continue;
    }
    const replica::Core& c = *n.core;
    std::ostringstream line;
    line << "  node " << n.id << " role " << static_cast<int>(c.role())
         << " promised " << c.promised().round << "." << c.promised().node
         << " chosen " << c.chosen_prefix() << " disk " << c.disk_id() % 10000
         << " acceptor " << c.IsAcceptor() << " leader " << c.LeaderHint()
         << " voters";
    for (const replica::Voter& v : c.LatestConfig().voters) {
      line << " " << v.node << "/" << v.disk_id % 10000;
    }
    Log(line.str());
  }
}

void Simulation::Log(const std::string& line) const {
  if (!opt_.verbose) return;
  std::fprintf(stderr, "[%9.3f ms] %s\n", static_cast<double>(now_) / 1e6,
               line.c_str());
}

SimNode* Simulation::Leader() {
  SimNode* best = nullptr;
  for (SimNode& n : nodes_) {
    if (!n.up || n.core->role() != replica::Role::kLeader) continue;
    if (!best || best->core->promised() < n.core->promised()) best = &n;
  }
  return best;
}

}  // namespace paxosfs::sim
