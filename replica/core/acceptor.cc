// The acceptor role: pre-votes, promises (phase 1b), accepts (phase 2b) and
// lease grants. Every reply that reveals a promise or an acceptance leaves
// through Ready::messages, which the driver sends only after the promise and
// the accepted records in the same Ready are durable.
#include "common/check.h"
#include "replica/core/core.h"

namespace paxosfs::replica {

void Core::HandlePreVote(const Envelope& env, int64_t now_ns) {
  // Leader stickiness: a voter that heard a live leader within the minimum
  // election timeout refuses, so a node returning from a partition cannot
  // start an election that would depose a healthy leader.
  bool heard_recently =
      last_leader_contact_ns_ >= 0 &&
      now_ns - last_leader_contact_ns_ < opt_.election_timeout_ns;
  Message r;
  r.type = MsgType::kPreVoteReply;
  r.disk_id = disk_id_;
  r.ok = IsAcceptor() && role_ != Role::kLeader && role_ != Role::kPreparing &&
         !heard_recently && env.msg.slot >= chosen_prefix_ + 1;
  Send(env.from, r);
}

void Core::HandlePreVoteReply(const Envelope& env, int64_t now_ns) {
  if (role_ != Role::kCandidate || !env.msg.ok) return;
  const Config& c = ConfigFor(chosen_prefix_ + 1);
  if (!c.IsVoter(env.from, env.msg.disk_id)) return;
  prevotes_.insert(env.from);
  if (prevotes_.size() >= c.QuorumSize()) StartPrepare(now_ns);
}

void Core::HandlePrepare(const Envelope& env, int64_t now_ns) {
  // A node that is not a listed acceptor (new or wiped disk) stays silent:
  // it may have forgotten promises it made with an earlier disk.
  if (!IsAcceptor()) return;
  const Message& m = env.msg;
  NoteRound(m.ballot);
  Message r;
  r.type = MsgType::kPromise;
  r.ballot = m.ballot;
  r.disk_id = disk_id_;
  r.slot = m.slot;
  r.index = compacted_;
  if (m.ballot < promised_ || LeaseHeldByOther(m.ballot.node, now_ns)) {
    r.promised = promised_;
    Send(env.from, r);
    return;
  }
  SetPromised(m.ballot);
  if (leader_state_ && leader_state_->ballot < m.ballot) BecomeFollower();
  r.ok = true;
  r.complete = m.slot > compacted_;
  for (auto it = log_.lower_bound(m.slot); it != log_.end(); ++it) {
    if (r.entries.size() >= opt_.message_entries_max) {
      r.complete = false;
      break;
    }
    // An applied slot is chosen and known to the candidate if it is us.
    if (it->second.value_in_log && env.from == opt_.id) continue;
    r.entries.push_back(EntryOf(it->first, it->second));
  }
  // Give the candidate time to finish: do not compete with it, and refuse
  // other pre-votes as if it were a live leader. Without this, candidates
  // whose phase 1 takes longer than the timeout spread preempt each other
  // forever (found by the simulation with slow fsyncs).
  if (m.ballot.node != opt_.id) {
    ResetElectionTimer(now_ns);
    last_leader_contact_ns_ = now_ns;
  }
  Send(env.from, r);
}

bool Core::AcceptLeader(const Message& m, NodeId /*from*/, int64_t now_ns) {
  SetPromised(m.ballot);
  if (leader_state_ && leader_state_->ballot < m.ballot) BecomeFollower();
  if (role_ == Role::kCandidate) role_ = Role::kFollower;
  leader_ = m.ballot.node;
  last_leader_contact_ns_ = now_ns;
  // The lease this acknowledgement grants runs on our own clock from now;
  // the leader counts its copy from before it sent the request.
  lease_holder_ = m.ballot.node;
  lease_expiry_ns_ = now_ns + opt_.lease_ns;
  ResetElectionTimer(now_ns);
  return true;
}

void Core::HandleAccept(Envelope& env, int64_t now_ns) {
  if (!IsAcceptor()) return;
  Message& m = env.msg;
  Message r;
  r.type = MsgType::kAccepted;
  r.ballot = m.ballot;
  r.disk_id = disk_id_;
  r.sent_ns = m.sent_ns;
  if (m.ballot < promised_) {
    r.promised = promised_;
    Send(env.from, r);
    return;
  }
  AcceptLeader(m, env.from, now_ns);
  for (WireEntry& e : m.entries) {
    r.entries.push_back(WireEntry{e.slot, m.ballot, false, {}});
    if (e.slot <= compacted_) continue;
    Slot& s = log_[e.slot];
    // A leader proposes one value per slot and ballot: a repeat (a resent
    // accept) is already in the log, durable before this reply leaves.
    if (s.chosen || s.ballot == m.ballot) continue;
    ready_.records.push_back(LogRecord{e.slot, m.ballot, false, e.value});
    s = Slot{m.ballot, std::move(e.value), false};
  }
  r.ok = true;
  Send(env.from, r);
  ApplyCommit(m.ballot, m.commit);
}

void Core::HandleCommit(const Envelope& env) {
  // A leader's word that slots it proposed are chosen holds whatever its
  // age; only a current one is worth the work.
  if (env.msg.ballot < promised_) return;
  ApplyCommit(env.msg.ballot, env.msg.commit);
}

void Core::HandleHeartbeat(const Envelope& env, int64_t now_ns) {
  const Message& m = env.msg;
  Message r;
  r.type = MsgType::kHeartbeatReply;
  r.ballot = m.ballot;
  r.disk_id = disk_id_;
  r.sent_ns = m.sent_ns;
  r.commit = chosen_prefix_;
  if (m.ballot < promised_) {
    r.promised = promised_;
    Send(env.from, r);
    return;
  }
  if (IsAcceptor()) {
    r.ok = AcceptLeader(m, env.from, now_ns);
  } else {
    // Learners and wiped voters follow the leader without promising.
    if (role_ == Role::kCandidate) role_ = Role::kFollower;
    leader_ = m.ballot.node;
    last_leader_contact_ns_ = now_ns;
    ResetElectionTimer(now_ns);
  }
  Send(env.from, r);
  ApplyCommit(m.ballot, m.commit);
}

}  // namespace paxosfs::replica
