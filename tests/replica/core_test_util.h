// Helpers for the core's unit tests: options with short timeouts and a tiny
// synchronous cluster that delivers every message at once (or drops those
// on cut links or matched by a test's filter). Records and metadata are
// kept to fill in the values the cores leave in their logs (log_values.h)
// and to restart a node from its "disk".
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "replica/core/core.h"
#include "replica/core/log_values.h"

namespace paxosfs::replica {

constexpr int64_t kMs = 1'000'000;

inline Config Genesis(int voters, int learners = 0) {
  Config c;
  for (int i = 1; i <= voters; ++i) c.voters.push_back({NodeId(i), 1000u + i});
  for (int i = 1; i <= learners; ++i) c.learners.push_back(voters + i);
  return c;
}

inline Options TestOptions(NodeId id, const Config& genesis) {
  Options o;
  o.id = id;
  o.genesis = genesis;
  o.pipeline_window = 4;
  o.batch_commands_max = 3;
  o.heartbeat_interval_ns = 10 * kMs;
  o.election_timeout_ns = 100 * kMs;
  o.lease_ns = 200 * kMs;
  o.seed = 7;
  return o;
}

inline PersistentState Bootstrapped(const Config& genesis, NodeId id) {
  PersistentState s;
  s.metadata = Core::BootstrapMetadata(genesis, id);
  return s;
}

class TestCluster {
 public:
  explicit TestCluster(int voters, int learners = 0)
      : genesis_(Genesis(voters, learners)) {
    for (int i = 1; i <= voters + learners; ++i) {
      PersistentState disk;
      if (i <= voters) disk = Bootstrapped(genesis_, i);
      metadata_[i] = disk.metadata;
      cores_[i] = std::make_unique<Core>(TestOptions(i, genesis_),
                                         std::move(disk), now_);
    }
  }
  Core& node(NodeId id) { return *cores_.at(id); }
  int64_t now() const { return now_; }
  std::vector<ChosenEntry>& applied(NodeId id) { return applied_[id]; }
  std::vector<uint64_t>& reads(NodeId id) { return reads_[id]; }
  void Cut(NodeId a, NodeId b) { cut_.insert({a, b}), cut_.insert({b, a}); }
  void HealAll() { cut_.clear(); }
  // Messages for which `drop` returns true are lost.
  void DropWhere(std::function<bool(const Envelope&)> drop) {
    drop_ = std::move(drop);
  }
  // Stops the node and starts it again from what it had made durable, with
  // a fresh seed as a real start has (and any other options `tweak` sets).
  // Its state machine replays from slot 1.
  void Restart(NodeId id, const std::function<void(Options&)>& tweak = {}) {
    PersistentState disk;
    disk.metadata = metadata_[id];
    for (auto& [slot, rec] : logs_[id]) disk.records.push_back(rec);
    Options o = TestOptions(id, genesis_);
    o.seed += ++restarts_;
    if (tweak) tweak(o);
    cores_[id] = std::make_unique<Core>(o, std::move(disk), now_);
  }

  // Delivers messages until none are left.
  void Settle() {
    for (int round = 0; round < 1000; ++round) {
      std::vector<Envelope> out;
      for (auto& [id, core] : cores_) {
        Ready r = core->TakeReady();
        core->CheckAll();
        for (ChosenEntry& e : r.committed) applied_[id].push_back(e);
        for (uint64_t rid : r.reads_ready) reads_[id].push_back(rid);
        if (r.metadata) metadata_[id] = r.metadata;
        for (LogRecord& rec : r.records) logs_[id][rec.slot] = rec;
        for (Envelope& e : r.messages) {
          Status filled = FillValuesFromLog(e.msg, [&](uint64_t slot) {
            auto it = logs_[id].find(slot);
            if (it == logs_[id].end()) {
              return StatusOr<LogRecord>(Status::NotFound("no record"));
            }
            return StatusOr<LogRecord>(it->second);
          });
          PAXOSFS_CHECK_MSG(filled.ok(), filled.ToString().c_str());
          out.push_back(std::move(e));
        }
      }
      if (out.empty()) return;
      for (Envelope& e : out) {
        if (cut_.count({e.from, e.to}) || (drop_ && drop_(e))) continue;
        cores_.at(e.to)->Step(e, now_);
      }
    }
  }

  void Advance(int64_t ns, int64_t step_ns = 5 * kMs) {
    for (int64_t t = 0; t < ns; t += step_ns) {
      now_ += step_ns;
      for (auto& [id, core] : cores_) core->Tick(now_);
      Settle();
    }
  }

  NodeId Leader() {
    NodeId leader = kNoNode;
    for (auto& [id, core] : cores_) {
      if (core->role() == Role::kLeader) leader = id;
    }
    return leader;
  }

  NodeId ElectLeader() {
    for (int i = 0; i < 200 && Leader() == kNoNode; ++i) Advance(5 * kMs);
    return Leader();
  }

 private:
  Config genesis_;
  int64_t now_ = 0;
  std::map<NodeId, std::unique_ptr<Core>> cores_;
  std::map<NodeId, std::vector<ChosenEntry>> applied_;
  std::map<NodeId, std::vector<uint64_t>> reads_;
  std::map<NodeId, std::map<uint64_t, LogRecord>> logs_;
  std::map<NodeId, std::optional<Metadata>> metadata_;
  std::set<std::pair<NodeId, NodeId>> cut_;
  std::function<bool(const Envelope&)> drop_;
  uint64_t restarts_ = 0;
};

}  // namespace paxosfs::replica
