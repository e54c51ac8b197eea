// The proposer/leader role: phase 1 over all slots from the first unchosen
// one, recovery of accepted values, batching and pipelining of phase 2,
// lease bookkeeping and membership proposals.
#include <algorithm>
#include <limits>

#include "common/check.h"
#include "replica/core/codec.h"
#include "replica/core/core.h"

namespace paxosfs::replica {
namespace {

std::string NoopValue() { return EncodeValue(Value{}); }

size_t VoterDifference(const Config& a, const Config& b) {
  size_t diff = 0;
  for (const Voter& v : a.voters) {
    if (std::find(b.voters.begin(), b.voters.end(), v) == b.voters.end()) {
      ++diff;
    }
  }
  for (const Voter& v : b.voters) {
    if (std::find(a.voters.begin(), a.voters.end(), v) == a.voters.end()) {
      ++diff;
    }
  }
  return diff;
}

}  // namespace

std::vector<Config> Core::PhaseOneConfigs(uint64_t first) const {
  // Every configuration that governs a slot in [first, first + α): the one
  // in force at `first`, plus any chosen shortly before it that takes effect
  // inside the window.
  std::vector<Config> out{ConfigFor(first)};
  for (const auto& [slot, config] : configs_) {
    if (slot == 0 || slot >= first) continue;
    if (slot + opt_.pipeline_window <= first) continue;
    if (std::find(out.begin(), out.end(), config) == out.end()) {
      out.push_back(config);
    }
  }
  return out;
}

bool Core::HasPromiseQuorum(const Config& c) const {
  size_t n = 0;
  for (const Voter& v : c.voters) {
    auto it = leader_state_->promises.find(v.node);
    if (it != leader_state_->promises.end() && it->second == v.disk_id) ++n;
  }
  return n >= c.QuorumSize();
}

void Core::SendPrepares(const Config& c) {
  Message m;
  m.type = MsgType::kPrepare;
  m.ballot = leader_state_->ballot;
  m.slot = chosen_prefix_ + 1;
  for (const Voter& v : c.voters) {
    auto it = leader_state_->promises.find(v.node);
    if (it == leader_state_->promises.end() || it->second != v.disk_id) {
      Send(v.node, m);
    }
  }
}

bool Core::StepDownIfHigher(const Message& m) {
  if (!leader_state_ || m.promised <= leader_state_->ballot) return false;
  NoteRound(m.promised);
  BecomeFollower();
  return true;
}

void Core::HandlePromise(const Envelope& env, int64_t now_ns) {
  const Message& m = env.msg;
  if (!leader_state_ || m.ballot != leader_state_->ballot) return;
  if (!m.ok) {
    StepDownIfHigher(m);
    return;
  }
  for (const WireEntry& e : m.entries) {
    // Lease reads wait until everything reported here, chosen or not, is
    // chosen and applied locally: an earlier leader may have acknowledged it.
    leader_state_->recovery_end = std::max(leader_state_->recovery_end, e.slot);
    if (e.chosen) {
      MarkChosen(e.slot, e.ballot, e.value);
      continue;
    }
    Leader& l = *leader_state_;
    if (e.slot < l.next_slot) continue;
    auto [it, fresh] = l.recovered.try_emplace(e.slot, e);
    if (!fresh && e.ballot > it->second.ballot) it->second = e;
  }
  if (m.slot <= m.index) ready_.snapshot_needed = {env.from, m.index};
  if (!m.complete) return;
  leader_state_->promises[env.from] = m.disk_id;
  if (role_ == Role::kPreparing) {
    for (const Config& c : PhaseOneConfigs(chosen_prefix_ + 1)) {
      if (!HasPromiseQuorum(c)) return;
    }
    role_ = Role::kLeader;
    leader_ = opt_.id;
    leader_state_->start_ns = now_ns;
    last_leader_contact_ns_ = now_ns;
  }
  FillWindow(now_ns);
  LeaderTick(now_ns);
}

std::optional<std::string> Core::NextValue(uint64_t slot) {
  Leader& l = *leader_state_;
  // Paxos: a slot some promiser accepted must carry the value with the
  // highest ballot among the promises; gaps below it become no-ops.
  if (auto it = l.recovered.find(slot); it != l.recovered.end()) {
    std::string v = std::move(it->second.value);
    l.recovered.erase(it);
    return v;
  }
  if (slot <= l.recovery_end) return NoopValue();
  if (l.pending_config) {
    Value v{Value::Kind::kConfig, {}, *l.pending_config};
    l.pending_config.reset();
    l.config_slot = slot;
    return EncodeValue(v);
  }
  if (!l.pending.empty()) {
    Value v{Value::Kind::kBatch, {}, {}};
    uint64_t bytes = 0;
    while (!l.pending.empty() && v.commands.size() < opt_.batch_commands_max &&
           (v.commands.empty() ||
            bytes + l.pending.front().size() <= opt_.batch_bytes_max)) {
      bytes += l.pending.front().size();
      v.commands.push_back(std::move(l.pending.front()));
      l.pending.pop_front();
    }
    l.pending_bytes -= bytes;
    return EncodeValue(v);
  }
  // Push a chosen configuration into force (α slots later) even when idle,
  // so the next membership change is not blocked waiting for traffic.
  uint64_t c = l.config_slot != 0 ? l.config_slot : configs_.rbegin()->first;
  if (c != 0 && slot < c + opt_.pipeline_window) return NoopValue();
  return std::nullopt;
}

void Core::FillWindow(int64_t now_ns) {
  if (role_ != Role::kLeader) return;
  // Slots learned chosen since phase 1 began (catch-up while preparing)
  // may be compacted away, so the log cannot say they are chosen: never
  // propose at or below the chosen prefix (found by the simulation, seed
  // 988 with compaction: a new leader re-proposed a compacted slot).
  leader_state_->next_slot =
      std::max(leader_state_->next_slot, chosen_prefix_ + 1);
  std::vector<uint64_t> fresh;
  // The window rule: a slot is proposed only when every slot α or more
  // below it is chosen, so its configuration is known and final.
  while (leader_state_->next_slot <= chosen_prefix_ + opt_.pipeline_window) {
    Leader& l = *leader_state_;
    uint64_t s = l.next_slot;
    if (auto it = log_.find(s); it != log_.end() && it->second.chosen) {
      ++l.next_slot;
      continue;
    }
    if (!HasPromiseQuorum(ConfigFor(s))) break;
    std::optional<std::string> v = NextValue(s);
    if (!v) break;
    l.inflight[s] = Inflight{std::move(*v), {}};
    fresh.push_back(s);
    ++l.next_slot;
  }
  if (!fresh.empty()) SendAccepts(fresh, now_ns);
}

void Core::SendAccepts(const std::vector<uint64_t>& slots, int64_t now_ns) {
  std::map<NodeId, Message> out;
  for (uint64_t s : slots) {
    Inflight& f = leader_state_->inflight.at(s);
    f.sent_ns = now_ns;
    for (const Voter& v : ConfigFor(s).voters) {
      if (f.acks.count(v.node)) continue;
      Message& m = out[v.node];
      m.type = MsgType::kAccept;
      m.ballot = leader_state_->ballot;
      m.commit = chosen_prefix_;
      m.sent_ns = now_ns;
      m.entries.push_back(WireEntry{s, m.ballot, false, f.value});
    }
  }
  for (auto& [node, m] : out) Send(node, std::move(m));
}

void Core::RecordGrant(NodeId from, uint64_t disk, int64_t sent_ns) {
  auto [it, fresh] = leader_state_->grants.try_emplace(from, disk, sent_ns);
  if (!fresh && (it->second.first != disk || it->second.second < sent_ns)) {
    it->second = {disk, sent_ns};
  }
}

int64_t Core::LeaseExpiry(const Config& c) const {
  // The acceptor's lease lasts lease_ns on its clock from when it received
  // our request, which is after we sent it. With clock rates within 1 ± ρ,
  // lease_ns·(1-ρ)/(1+ρ) of our time is at most that much real time.
  std::vector<int64_t> sent;
  for (const Voter& v : c.voters) {
    auto it = leader_state_->grants.find(v.node);
    if (it != leader_state_->grants.end() && it->second.first == v.disk_id) {
      sent.push_back(it->second.second);
    }
  }
  if (sent.size() < c.QuorumSize()) return std::numeric_limits<int64_t>::min();
  std::sort(sent.rbegin(), sent.rend());
  int64_t start = sent[c.QuorumSize() - 1];
  return start + TrustedSpan(opt_.lease_ns);
}

int64_t Core::TrustedSpan(int64_t ns) const {
  int64_t rho = opt_.max_drift_ppm;
  return ns / (1'000'000 + rho) * (1'000'000 - rho) - opt_.lease_margin_ns;
}

std::optional<Core::LocalReadWindow> Core::LocalReadWindowAt(
    int64_t now_ns) const {
  if (role_ != Role::kLeader) {
    std::optional<uint64_t> index = FollowerReadIndex(now_ns);
    if (!index) return std::nullopt;
    return LocalReadWindow{*index, read_lease_->until_ns, false};
  }
  if (!CanServeLocalRead(now_ns)) return std::nullopt;
  LocalReadWindow w{chosen_prefix_, std::numeric_limits<int64_t>::max(), true};
  for (const Config& c : PhaseOneConfigs(chosen_prefix_ + 1)) {
    w.until_ns = std::min(w.until_ns, LeaseExpiry(c));
  }
  return w;
}

bool Core::CanServeLocalRead(int64_t now_ns) const {
  if (role_ != Role::kLeader || applied_ != chosen_prefix_) return false;
  // Everything an earlier leader may have chosen must be chosen (and
  // applied) here first.
  if (chosen_prefix_ < leader_state_->recovery_end) return false;
  for (const Config& c : PhaseOneConfigs(chosen_prefix_ + 1)) {
    if (!HasPromiseQuorum(c) || now_ns >= LeaseExpiry(c)) return false;
  }
  return true;
}

void Core::HandleAccepted(const Envelope& env, int64_t now_ns) {
  const Message& m = env.msg;
  if (!m.ok) {
    StepDownIfHigher(m);
    return;
  }
  if (role_ != Role::kLeader || m.ballot != leader_state_->ballot) return;
  RecordGrant(env.from, m.disk_id, m.sent_ns);
  for (const WireEntry& e : m.entries) {
    if (!leader_state_) return;
    auto it = leader_state_->inflight.find(e.slot);
    if (it == leader_state_->inflight.end()) continue;
    if (!ConfigFor(e.slot).IsVoter(env.from, m.disk_id)) continue;
    it->second.acks.insert(env.from);
    ChooseIfAccepted(e.slot, now_ns);
  }
  FillWindow(now_ns);
}

void Core::ChooseIfAccepted(uint64_t slot, int64_t now_ns) {
  auto it = leader_state_->inflight.find(slot);
  if (it->second.acks.size() < ConfigFor(slot).QuorumSize() ||
      !HoldersAccepted(it->second, now_ns)) {
    return;
  }
  std::string value = std::move(it->second.value);
  leader_state_->inflight.erase(it);
  MarkChosen(slot, leader_state_->ballot, value);
}

void Core::HandleHeartbeatReply(const Envelope& env, int64_t /*now_ns*/) {
  const Message& m = env.msg;
  if (!m.ok) {
    StepDownIfHigher(m);
    return;
  }
  if (role_ != Role::kLeader || m.ballot != leader_state_->ballot) return;
  RecordGrant(env.from, m.disk_id, m.sent_ns);
}

void Core::LeaderTick(int64_t now_ns) {
  Leader& l = *leader_state_;
  // A holder that stopped answering holds up slots only until its grant
  // runs out.
  if (std::erase_if(l.read_grants, [&](const auto& grant) {
        return grant.second <= now_ns;
      })) {
    std::vector<uint64_t> waiting;
    for (const auto& [slot, f] : l.inflight) waiting.push_back(slot);
    for (uint64_t slot : waiting) ChooseIfAccepted(slot, now_ns);
  }
  if (chosen_prefix_ > l.commit_sent) {
    l.commit_sent = chosen_prefix_;
    Message commit;
    commit.type = MsgType::kCommit;
    commit.ballot = l.ballot;
    // Voters only: learners poll their tree parent (TreeParent), so the
    // leader's load does not grow with every learner on every commit.
    for (const Voter& v : LatestConfig().voters) {
      if (v.node != opt_.id) Send(v.node, commit);
    }
  }
  if (l.last_heartbeat_ns >= 0 &&
      now_ns - l.last_heartbeat_ns < opt_.heartbeat_interval_ns) {
    FillWindow(now_ns);
    return;
  }
  l.last_heartbeat_ns = now_ns;
  last_leader_contact_ns_ = now_ns;
  // Check quorum: a leader that has not renewed its lease for an election
  // timeout past its expiry is cut off; stop taking proposals.
  int64_t renewed = std::max(LeaseExpiry(ConfigFor(chosen_prefix_ + 1)),
                             l.start_ns + opt_.lease_ns);
  if (now_ns > renewed + opt_.election_timeout_ns) {
    BecomeFollower();
    ResetElectionTimer(now_ns);
    return;
  }
  Message hb;
  hb.type = MsgType::kHeartbeat;
  hb.ballot = l.ballot;
  hb.commit = chosen_prefix_;
  hb.sent_ns = now_ns;
  // Learners hear from the leader only every few intervals: they learn
  // entries and commits from their tree parent, and need the leader only to
  // know who it is. That keeps the leader's messages per learner low.
  bool learners = l.heartbeats++ % opt_.learner_heartbeat_every == 0;
  std::set<NodeId> targets;
  for (const Config* c : {&LatestConfig(), &ConfigFor(chosen_prefix_ + 1)}) {
    for (const Voter& v : c->voters) targets.insert(v.node);
    if (learners) targets.insert(c->learners.begin(), c->learners.end());
  }
  for (NodeId n : targets) Send(n, hb);
  // Only accepts unanswered for a whole interval: an accept sent just
  // before this heartbeat is not lost, only not answered yet, and sending
  // MiBs of values again made every voter write them to its log again.
  std::vector<uint64_t> resend;
  for (const auto& [slot, f] : l.inflight) {
    if (now_ns - f.sent_ns >= opt_.heartbeat_interval_ns)
      resend.push_back(slot);
  }
  if (!resend.empty()) SendAccepts(resend, now_ns);
  std::vector<Config> needed = PhaseOneConfigs(chosen_prefix_ + 1);
  needed.push_back(ConfigFor(l.next_slot));
  for (const Config& c : needed) {
    if (!HasPromiseQuorum(c)) SendPrepares(c);
  }
  FillWindow(now_ns);
}

Status Core::Propose(std::string command, int64_t now_ns) {
  if (role_ != Role::kLeader) {
    return Status::Unavailable("not the leader; leader hint " +
                               std::to_string(leader_));
  }
  Leader& l = *leader_state_;
  if (l.pending.size() >= opt_.pending_commands_max) {
    return Status::Unavailable("proposal queue full; retry later");
  }
  l.pending_bytes += command.size();
  l.pending.push_back(std::move(command));
  // An idle leader sends at once. Under load, commands wait for the
  // caller's next Tick or the next acceptance and leave together in one
  // slot: cutting a slot per command filled the window with one-command
  // slots, each costing every voter a log write.
  if (l.inflight.empty()) {
    FillWindow(now_ns);
    DrainLocal(now_ns);
  }
  return Status::Ok();
}

Status Core::ProposeConfig(const Config& next, int64_t now_ns) {
  if (role_ != Role::kLeader) return Status::Unavailable("not the leader");
  if (ConfigChangePending()) {
    return Status::Aborted("a membership change is still in progress");
  }
  if (next.voters.empty() || VoterDifference(LatestConfig(), next) > 1) {
    return Status::InvalidArgument(
        "a membership change adds or removes at most one voter");
  }
  leader_state_->pending_config = next;
  FillWindow(now_ns);
  DrainLocal(now_ns);
  return Status::Ok();
}

}  // namespace paxosfs::replica
