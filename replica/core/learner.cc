// The learner role: learning chosen slots (from the leader's commit index,
// from catch-up replies, from promises), applying them strictly in slot
// order, catch-up of lagging replicas and read barriers.
#include <algorithm>

#include "common/check.h"
#include "replica/core/codec.h"
#include "replica/core/core.h"

namespace paxosfs::replica {

void Core::MarkChosen(uint64_t slot, const Ballot& ballot,
                      std::string_view value) {
  if (slot <= compacted_) return;
  auto existing = log_.find(slot);
  if (existing != log_.end() && existing->second.chosen) {
    // An applied value is no longer in memory; the log checks a second
    // chosen record against the first whenever one is written.
    PAXOSFS_CHECK_MSG(
        existing->second.value_in_log || existing->second.value == value,
        "two values chosen for one slot");
    return;
  }
  StatusOr<Value> v = CheckValue(value);
  // Peer bytes: a value that does not decode was damaged or forged on its
  // way, so it is not learned here (every chosen value can be learned again
  // from a quorum) rather than stopping the node.
  if (!v.ok()) return;
  // A leader proposes one value per slot per ballot, so a slot accepted in
  // the ballot that chose it already holds the value: no copy of its MiBs.
  // (The length check is free and keeps a slot never accepted out.)
  if (existing != log_.end() && existing->second.ballot == ballot &&
      existing->second.value.size() == value.size()) {
    existing->second.chosen = true;
  } else {
    existing =
        log_.insert_or_assign(slot, Slot{ballot, std::string(value), true})
            .first;
  }
  ready_.records.push_back(
      LogRecord{slot, ballot, true, existing->second.value});
  if (v->kind == Value::Kind::kConfig) {
    configs_[slot] = v->config;
    metadata_dirty_ = true;
  }
  if (leader_state_) {
    leader_state_->inflight.erase(slot);
    leader_state_->recovered.erase(slot);
    if (leader_state_->config_slot == slot) leader_state_->config_slot = 0;
  }
  AdvancePrefix();
}

void Core::AdvancePrefix() {
  for (auto it = log_.find(chosen_prefix_ + 1);
       it != log_.end() && it->first == chosen_prefix_ + 1 && it->second.chosen;
       ++it) {
    ++chosen_prefix_;
    // Refusals were of the slot after the old prefix.
    catchup_refused_.clear();
  }
  known_commit_ = std::max(known_commit_, chosen_prefix_);
  while (applied_ < chosen_prefix_) {
    uint64_t slot = applied_ + 1;
    Slot& s = log_.at(slot);
    PAXOSFS_CHECK(s.chosen);
    StatusOr<Value> v = DecodeValue(s.value);
    PAXOSFS_CHECK(v.ok());
    s.value_size = s.value.size();
    s.value_in_log = true;
    ChosenEntry e{slot, std::move(s.value), {}};
    s.value.clear();
    if (v->kind == Value::Kind::kBatch) e.commands = std::move(v->commands);
    ready_.committed.push_back(std::move(e));
    applied_ = slot;
  }
  ResolveReads();
}

WireEntry Core::EntryOf(uint64_t slot, const Slot& s) {
  WireEntry e{slot, s.ballot, s.chosen, s.value};
  e.value_in_log = s.value_in_log;
  return e;
}

void Core::ApplyCommit(const Ballot& ballot, uint64_t commit) {
  // The leader proposes one value per slot per ballot, so an entry we
  // accepted in the leader's ballot at a slot it reports chosen is that
  // value. Entries from older ballots may differ: fetch those instead.
  std::vector<uint64_t> learned;
  for (auto it = log_.upper_bound(chosen_prefix_);
       it != log_.end() && it->first <= commit; ++it) {
    if (!it->second.chosen && it->second.ballot == ballot) {
      learned.push_back(it->first);
    }
  }
  for (uint64_t slot : learned) {
    const Slot& s = log_.at(slot);
    MarkChosen(slot, s.ballot, s.value);
  }
}

NodeId Core::TreeParent() const {
  const Config& c = LatestConfig();
  auto it = std::find(c.learners.begin(), c.learners.end(), opt_.id);
  if (it == c.learners.end() || c.voters.empty()) return kNoNode;
  // Members in order voters ++ learners; learner j hangs below member
  // j / fanout, always earlier in that order, so the tree has no cycle and
  // its depth grows with the logarithm of the learner count.
  size_t parent = static_cast<size_t>(it - c.learners.begin()) /
                  std::max<uint64_t>(opt_.learner_fanout, 2);
  return parent < c.voters.size() ? c.voters[parent].node
                                  : c.learners[parent - c.voters.size()];
}

bool Core::PollParent(int64_t now_ns) {
  NodeId parent = TreeParent();
  if (parent == kNoNode) return false;
  auto reported = peer_commit_.find(parent);
  uint64_t mark =
      chosen_prefix_ + (reported == peer_commit_.end() ? 0 : reported->second);
  if (mark != progress_mark_ || known_commit_ <= chosen_prefix_) {
    progress_mark_ = mark;
    progress_ns_ = now_ns;
  }
  // A parent that is down or stuck must not hold this learner back: when
  // neither this node nor its parent learned anything for an election
  // timeout, fall back to the leader and peers. A parent that is merely
  // slower (an overloaded host) keeps its children, so the leader's load
  // stays bounded.
  if (now_ns - progress_ns_ > opt_.election_timeout_ns) return false;
  if (RefusedCatchup(parent)) return false;
  // Polled every heartbeat interval whether or not a newer commit is known
  // (the leader tells only voters of each commit, and the parent's reply
  // carries what it learned), and at once when one is (a read waits on it).
  bool news = known_commit_ > std::max(polled_commit_, chosen_prefix_);
  if (!news && last_catchup_ns_ >= 0 &&
      now_ns - last_catchup_ns_ < opt_.heartbeat_interval_ns) {
    return true;
  }
  polled_commit_ = known_commit_;
  SendCatchupRequest(parent, UINT64_MAX, now_ns);
  return true;
}

void Core::SendCatchupRequest(NodeId to, uint64_t through, int64_t now_ns) {
  last_catchup_ns_ = now_ns;
  Message m;
  m.type = MsgType::kCatchupRequest;
  m.slot = chosen_prefix_ + 1;
  m.index = through;
  Send(to, m);
}

void Core::MaybeCatchUp(int64_t now_ns) {
  MaybeAskForSnapshot(now_ns);
  if (PollParent(now_ns)) return;
  if (known_commit_ <= chosen_prefix_) return;
  if (last_catchup_ns_ >= 0 &&
      now_ns - last_catchup_ns_ < opt_.heartbeat_interval_ns) {
    return;
  }
  // Alternate between the leader and a random peer known to have the
  // entries, so learners spread the load and survive a slow leader.
  std::vector<NodeId> sources = CatchupPeers();
  NodeId target = kNoNode;
  if (LeaderMayServeCatchup() &&
      (catchup_attempts_ % 2 == 0 || sources.empty())) {
    target = leader_;
  } else if (!sources.empty()) {
    target = sources[rng_.Below(sources.size())];
  }
  ++catchup_attempts_;
  if (target != kNoNode) SendCatchupRequest(target, known_commit_, now_ns);
}

void Core::HandleCatchupRequest(const Envelope& env) {
  const Message& m = env.msg;
  Message r;
  r.type = MsgType::kCatchupReply;
  r.commit = chosen_prefix_;
  if (m.slot <= compacted_) {
    // Those entries are gone; the peer needs a snapshot.
    r.index = compacted_;
    Send(env.from, r);
    return;
  }
  r.ok = true;
  uint64_t bytes = 0;
  // Below our chosen prefix every slot must be served, in order. A node
  // restarted after applying slots whose chosen marks had not reached its
  // log (marks ride along with the next sync; the store commits at once)
  // has applied them but cannot vouch for their values: it stops there.
  // Skipping such a slot silently sent the peer the ones after it, which
  // it could not use, and it asked again at once, forever.
  uint64_t next = m.slot;
  bool gap = false;
  for (auto it = log_.lower_bound(m.slot);
       it != log_.end() && it->first <= m.index; ++it) {
    if (it->first <= chosen_prefix_ &&
        (it->first != next || !it->second.chosen)) {
      gap = true;
      break;
    }
    next = it->first + 1;
    if (!it->second.chosen) continue;
    if (r.entries.size() >= opt_.message_entries_max ||
        bytes >= opt_.batch_bytes_max) {
      break;
    }
    const Slot& s = it->second;
    bytes += s.value_in_log ? s.value_size : s.value.size();
    r.entries.push_back(EntryOf(it->first, s));
  }
  gap = gap || next <= std::min(chosen_prefix_, m.index);
  if (gap && r.entries.empty()) {
    // Our store holds it: the peer can take a snapshot of it from us.
    r.ok = false;
    r.index = next;
  }
  Send(env.from, r);
}

bool Core::RefusedCatchup(NodeId peer) const {
  return catchup_refused_.count(peer) > 0;
}

std::vector<NodeId> Core::CatchupPeers() const {
  std::vector<NodeId> peers;
  for (const auto& [peer, commit] : peer_commit_) {
    if (peer != opt_.id && commit > chosen_prefix_ && !RefusedCatchup(peer)) {
      peers.push_back(peer);
    }
  }
  return peers;
}

bool Core::LeaderMayServeCatchup() const {
  return leader_ != kNoNode && leader_ != opt_.id && !RefusedCatchup(leader_);
}

void Core::MaybeAskForSnapshot(int64_t now_ns) {
  if (catchup_refused_.empty()) return;
  // A restarted peer whose store applied slots its log holds no chosen
  // marks for refuses them, though the leader may hold them: a snapshot (a
  // rebuild, the mount gone meanwhile) is due only once no one else is
  // left to ask, or those left have not helped for two election timeouts
  // (a peer known to be ahead may have died since).
  bool waited = now_ns - refused_since_ns_ >= 2 * opt_.election_timeout_ns;
  if (!waited && (LeaderMayServeCatchup() || !CatchupPeers().empty())) return;
  auto best = std::max_element(
      catchup_refused_.begin(), catchup_refused_.end(),
      [](const auto& a, const auto& b) { return a.second < b.second; });
  ready_.snapshot_needed = *best;
  catchup_refused_.clear();
}

void Core::HandleCatchupReply(const Envelope& env, int64_t now_ns) {
  const Message& m = env.msg;
  if (!m.ok) {
    if (catchup_refused_.empty()) refused_since_ns_ = now_ns;
    catchup_refused_[env.from] = m.index;
    MaybeAskForSnapshot(now_ns);
    return;
  }
  for (const WireEntry& e : m.entries) {
    if (e.chosen) MarkChosen(e.slot, e.ballot, e.value);
  }
  // More may remain; ask again on the next tick.
  if (!m.entries.empty()) last_catchup_ns_ = -1;
}

uint64_t Core::RequestRead(int64_t now_ns) {
  uint64_t id = next_read_id_++;
  reads_[id] = Read{now_ns + opt_.read_timeout_ns, 0, 0, std::nullopt};
  read_requested_ns_ = now_ns;
  RequestReadLease(now_ns);
  ReadsTick(now_ns);
  DrainLocal(now_ns);
  return id;
}

void Core::ReadsTick(int64_t now_ns) {
  if (reads_.empty()) return;
  std::optional<LocalReadWindow> local = LocalReadWindowAt(now_ns);
  bool send = false;
  uint64_t barrier = next_barrier_;
  for (auto it = reads_.begin(); it != reads_.end();) {
    Read& r = it->second;
    if (now_ns >= r.deadline_ns) {
      ready_.reads_failed.push_back(it->first);
      it = reads_.erase(it);
      continue;
    }
    if (!r.index && local) {
      r.index = local->index;
    } else if (!r.index && role_ != Role::kLeader && leader_ != kNoNode &&
               (r.barrier == 0 ||
                now_ns - r.sent_ns >= opt_.heartbeat_interval_ns)) {
      // One barrier round trip serves every read waiting at this moment.
      // Keep the first id: a reply to it or to any later barrier (all sent
      // after this read began) will do, so a slow reply still counts.
      if (r.barrier == 0) r.barrier = barrier;
      r.sent_ns = now_ns;
      send = true;
    }
    ++it;
  }
  if (send) {
    ++next_barrier_;
    Message m;
    m.type = MsgType::kReadIndexRequest;
    m.id = barrier;
    Send(leader_, m);
  }
  ResolveReads();
}

void Core::HandleReadIndexRequest(const Envelope& env, int64_t now_ns) {
  Message r;
  r.type = MsgType::kReadIndexReply;
  r.id = env.msg.id;
  r.ok = CanServeLocalRead(now_ns);
  r.index = chosen_prefix_;
  Send(env.from, r);
}

void Core::HandleReadIndexReply(const Envelope& env) {
  if (!env.msg.ok) return;
  for (auto& [id, r] : reads_) {
    bool same_epoch = (r.barrier >> 32) == (env.msg.id >> 32);
    if (!r.index && r.barrier != 0 && same_epoch && r.barrier <= env.msg.id) {
      r.index = env.msg.index;
    }
  }
  ResolveReads();
}

void Core::ResolveReads() {
  for (auto it = reads_.begin(); it != reads_.end();) {
    if (it->second.index && *it->second.index <= applied_) {
      ready_.reads_ready.push_back(it->first);
      it = reads_.erase(it);
    } else {
      ++it;
    }
  }
}

void Core::Compacted(uint64_t index) {
  PAXOSFS_CHECK_MSG(index <= applied_, "compacted past the applied index");
  if (index <= compacted_) return;
  compacted_ = index;
  log_.erase(log_.begin(), log_.upper_bound(index));
}

}  // namespace paxosfs::replica
