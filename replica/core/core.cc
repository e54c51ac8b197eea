// Construction, dispatch, timers and elections. Acceptor, leader and learner
// behaviour live in acceptor.cc, leader.cc and learner.cc.
#include "replica/core/core.h"

#include <algorithm>
#include <utility>

#include "common/check.h"
#include "replica/core/codec.h"

namespace paxosfs::replica {

bool Ready::Empty() const {
  return !metadata && records.empty() && messages.empty() &&
         committed.empty() && reads_ready.empty() && reads_failed.empty() &&
         dropped_commands.empty() && !snapshot_needed;
}

Metadata Core::BootstrapMetadata(const Config& genesis, NodeId id) {
  Metadata meta;
  meta.disk_id = genesis.VoterDisk(id);
  PAXOSFS_CHECK_MSG(meta.disk_id != 0, "bootstrap node is not a voter");
  meta.configs.emplace_back(0, genesis);
  return meta;
}

Core::Core(Options options, PersistentState disk, int64_t now_ns)
    : opt_(std::move(options)),
      rng_(opt_.seed * 0x9e3779b97f4a7c15ULL + opt_.id) {
  PAXOSFS_CHECK(opt_.id != kNoNode);
  PAXOSFS_CHECK(opt_.pipeline_window > 0);
  PAXOSFS_CHECK(disk.applied_index >= disk.compacted_index);
  configs_[0] = opt_.genesis;
  if (disk.metadata) {
    disk_id_ = disk.metadata->disk_id;
    promised_ = disk.metadata->promised;
    for (const auto& [slot, config] : disk.metadata->configs) {
      configs_[slot] = config;
    }
  } else {
    // A new or wiped disk: a fresh acceptor identity that no configuration
    // lists yet, so this node cannot vote with promises it forgot.
    while (disk_id_ == 0) disk_id_ = rng_.Next();
    metadata_dirty_ = true;
  }
  max_round_seen_ = promised_.round;
  // Barrier ids carry a random epoch in their high half: a delayed reply to
  // a barrier of an earlier incarnation must never serve a read of this one.
  next_barrier_ = (rng_.Next() & 0xffffffff00000000ULL) | 1;
  lease_nonce_ = next_barrier_ >> 32;
  compacted_ = disk.compacted_index;
  applied_ = disk.applied_index;
  started_applied_ = applied_;
  chosen_prefix_ = applied_;
  for (LogRecord& r : disk.records) {
    if (r.slot <= compacted_) continue;
    Slot& s = log_[r.slot];
    if (s.chosen) continue;
    if (r.value_in_log) {
      // Applied, so its configuration (if any) is in the metadata already.
      PAXOSFS_CHECK(r.chosen && r.slot <= applied_);
      s = Slot{r.ballot, {}, true, true, r.value_size};
      continue;
    }
    s = Slot{r.ballot, std::move(r.value), r.chosen};
    if (!s.chosen) continue;
    StatusOr<Value> v = DecodeValue(s.value);
    PAXOSFS_CHECK_MSG(v.ok(), "undecodable chosen value in the log");
    if (v->kind == Value::Kind::kConfig) configs_[r.slot] = v->config;
  }
  AdvancePrefix();
  // Any lease this acceptor granted before a restart expires within
  // lease_ns of now on its own clock; promise nobody until then.
  lease_holder_ = kNoNode;
  lease_expiry_ns_ = now_ns + opt_.lease_ns;
  // Read leases this node granted before it stopped end within lease_ns.
  no_campaign_before_ns_ = now_ns + opt_.lease_ns;
  ResetElectionTimer(now_ns);
}

bool Core::IsAcceptor() const {
  for (const auto& [slot, config] : configs_) {
    if (config.IsVoter(opt_.id, disk_id_)) return true;
  }
  return false;
}

const Config& Core::LatestConfig() const { return configs_.rbegin()->second; }

const Config& Core::ConfigFor(uint64_t slot) const {
  for (auto it = configs_.rbegin(); it != configs_.rend(); ++it) {
    if (it->first == 0 || it->first + opt_.pipeline_window <= slot) {
      return it->second;
    }
  }
  PAXOSFS_CHECK_MSG(false, "no genesis configuration");
  return configs_.begin()->second;
}

bool Core::ConfigChangePending() const {
  if (leader_state_ &&
      (leader_state_->pending_config || leader_state_->config_slot != 0)) {
    return true;
  }
  uint64_t latest = configs_.rbegin()->first;
  return latest != 0 && latest + opt_.pipeline_window > chosen_prefix_ + 1;
}

void Core::Step(Envelope env, int64_t now_ns) {
  PAXOSFS_CHECK(env.to == opt_.id);
  Dispatch(env, now_ns);
  DrainLocal(now_ns);
}

void Core::Tick(int64_t now_ns) {
  if (role_ == Role::kLeader) {
    LeaderTick(now_ns);
  } else if (now_ns >= election_deadline_ns_) {
    if (CanCampaign(now_ns)) {
      StartPreVote(now_ns);
    } else {
      ResetElectionTimer(now_ns);
    }
  }
  MaybeCatchUp(now_ns);
  RequestReadLease(now_ns);
  ReadsTick(now_ns);
  DrainLocal(now_ns);
}

Ready Core::TakeReady() {
  if (metadata_dirty_) {
    ready_.metadata = CurrentMetadata();
    metadata_dirty_ = false;
  }
  return std::exchange(ready_, Ready{});
}

Metadata Core::CurrentMetadata() const {
  Metadata meta;
  meta.promised = promised_;
  meta.disk_id = disk_id_;
  meta.configs.assign(configs_.begin(), configs_.end());
  return meta;
}

void Core::Send(NodeId to, Message msg) {
  // Every message advertises the sender's chosen prefix, so a replica that
  // fell behind learns whom to catch up from, whatever it hears.
  msg.commit = chosen_prefix_;
  // Messages to ourselves take the same path as remote ones, so the local
  // acceptor obeys exactly the rules the others do.
  if (to == opt_.id) {
    local_.push_back(Envelope{opt_.id, to, std::move(msg)});
  } else {
    ready_.messages.push_back(Envelope{opt_.id, to, std::move(msg)});
  }
}

void Core::DrainLocal(int64_t now_ns) {
  while (!local_.empty()) {
    Envelope env = std::move(local_.front());
    local_.pop_front();
    Dispatch(env, now_ns);
  }
}

void Core::Dispatch(Envelope& env, int64_t now_ns) {
  if (env.from != opt_.id) {
    uint64_t& peer = peer_commit_[env.from];
    peer = std::max(peer, env.msg.commit);
    known_commit_ = std::max(known_commit_, env.msg.commit);
  }
  switch (env.msg.type) {
    case MsgType::kPreVote:
      return HandlePreVote(env, now_ns);
    case MsgType::kPreVoteReply:
      return HandlePreVoteReply(env, now_ns);
    case MsgType::kPrepare:
      return HandlePrepare(env, now_ns);
    case MsgType::kPromise:
      return HandlePromise(env, now_ns);
    case MsgType::kAccept:
      return HandleAccept(env, now_ns);
    case MsgType::kAccepted:
      return HandleAccepted(env, now_ns);
    case MsgType::kHeartbeat:
      return HandleHeartbeat(env, now_ns);
    case MsgType::kHeartbeatReply:
      return HandleHeartbeatReply(env, now_ns);
    case MsgType::kCatchupRequest:
      return HandleCatchupRequest(env);
    case MsgType::kCatchupReply:
      return HandleCatchupReply(env, now_ns);
    case MsgType::kReadIndexRequest:
      return HandleReadIndexRequest(env, now_ns);
    case MsgType::kReadIndexReply:
      return HandleReadIndexReply(env);
    case MsgType::kCommit:
      return HandleCommit(env);
    case MsgType::kLeaseRequest:
      return HandleLeaseRequest(env, now_ns);
    case MsgType::kLeaseGrant:
      return HandleLeaseGrant(env);
  }
}

void Core::ResetElectionTimer(int64_t now_ns) {
  uint64_t t = static_cast<uint64_t>(opt_.election_timeout_ns);
  election_deadline_ns_ = now_ns + static_cast<int64_t>(t + rng_.Below(t));
}

void Core::SetPromised(Ballot b) {
  PAXOSFS_CHECK_MSG(b >= promised_, "promised ballot must never decrease");
  if (b > promised_) {
    promised_ = b;
    metadata_dirty_ = true;
    // A lease rests on its leader's ballot; once we promise a newer one,
    // stop trusting it rather than reason about its remaining time.
    read_lease_.reset();
  }
  NoteRound(b);
}

void Core::NoteRound(const Ballot& b) {
  max_round_seen_ = std::max(max_round_seen_, b.round);
}

bool Core::CanCampaign(int64_t now_ns) const {
  return now_ns >= no_campaign_before_ns_ &&
         ConfigFor(chosen_prefix_ + 1).IsVoter(opt_.id, disk_id_);
}

bool Core::LeaseHeldByOther(NodeId candidate, int64_t now_ns) const {
  return now_ns < lease_expiry_ns_ && lease_holder_ != candidate;
}

void Core::StartPreVote(int64_t now_ns) {
  // Pre-vote: ask whether voters would promise before raising any ballot,
  // so a node returning from a partition cannot depose a healthy leader.
  BecomeFollower();
  role_ = Role::kCandidate;
  prevotes_.clear();
  ResetElectionTimer(now_ns);
  Message m;
  m.type = MsgType::kPreVote;
  m.slot = chosen_prefix_ + 1;
  for (const Voter& v : ConfigFor(chosen_prefix_ + 1).voters) {
    Send(v.node, m);
  }
}

void Core::StartPrepare(int64_t now_ns) {
  role_ = Role::kPreparing;
  // Not emplace(): clang rejects it for a nested struct with default member
  // initializers (it decides constructibility inside the enclosing class).
  leader_state_ = Leader{};
  Leader& l = *leader_state_;
  l.ballot = Ballot{std::max(max_round_seen_, promised_.round) + 1, opt_.id};
  NoteRound(l.ballot);
  l.next_slot = chosen_prefix_ + 1;
  l.start_ns = now_ns;
  ResetElectionTimer(now_ns);
  for (const Config& c : PhaseOneConfigs(chosen_prefix_ + 1)) SendPrepares(c);
}

void Core::BecomeFollower() {
  if (leader_state_) {
    for (const auto& [holder, until] : leader_state_->read_grants) {
      no_campaign_before_ns_ = std::max(no_campaign_before_ns_, until);
    }
    for (std::string& cmd : leader_state_->pending) {
      ready_.dropped_commands.push_back(std::move(cmd));
    }
    leader_state_.reset();
  }
  if (leader_ == opt_.id) leader_ = kNoNode;
  role_ = Role::kFollower;
}

}  // namespace paxosfs::replica
