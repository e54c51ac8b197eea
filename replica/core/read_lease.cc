// Follower read leases (replica/README.md): a voter serves reads from its
// applied state while the leader counts no slot chosen without its accept.
// The lease counts from when the voter asked and ends before the leader's
// own lease does, so no rival ballot can have a value chosen under it.
#include <algorithm>

#include "replica/core/core.h"

namespace paxosfs::replica {

void Core::RequestReadLease(int64_t now_ns) {
  if (role_ != Role::kFollower || leader_ == kNoNode || leader_ == opt_.id ||
      read_requested_ns_ < 0 ||
      now_ns - read_requested_ns_ > opt_.read_lease_idle_ns ||
      !LatestConfig().IsVoter(opt_.id, disk_id_)) {
    return;
  }
  if (lease_requested_ns_ >= 0 &&
      now_ns - lease_requested_ns_ < opt_.heartbeat_interval_ns) {
    return;
  }
  lease_requested_ns_ = now_ns;
  Message m;
  m.type = MsgType::kLeaseRequest;
  m.disk_id = disk_id_;
  m.id = lease_nonce_;
  m.sent_ns = now_ns;
  Send(leader_, m);
}

void Core::HandleLeaseRequest(const Envelope& env, int64_t now_ns) {
  const Message& m = env.msg;
  if (role_ != Role::kLeader || env.from == opt_.id ||
      !LatestConfig().IsVoter(env.from, m.disk_id)) {
    return;
  }
  // Only a voter of every configuration governing the window gets accepts
  // for every slot we may choose: a holder that gets none would hold them
  // up until its grant ran out, and renewing it would hold them for ever.
  for (const Config& c : PhaseOneConfigs(chosen_prefix_ + 1)) {
    if (!c.IsVoter(env.from, m.disk_id)) return;
  }
  std::optional<LocalReadWindow> own = LocalReadWindowAt(now_ns);
  if (!own) return;
  // The holder counts from when it asked, which was before now, on a clock
  // that may run fast: `rest` of our time is at least rest/(1+ρ) of real
  // time, and `length` of its time at most length/(1-ρ).
  int64_t length = TrustedSpan(own->until_ns - now_ns);
  if (length <= 0) return;
  int64_t& until = leader_state_->read_grants[env.from];
  until = std::max(until, own->until_ns);
  Message r;
  r.type = MsgType::kLeaseGrant;
  r.ballot = leader_state_->ballot;
  r.ok = true;
  r.id = m.id;
  r.sent_ns = m.sent_ns;
  r.slot = static_cast<uint64_t>(length);
  // A slot chosen before this grant may not carry the holder's accept.
  r.index = std::max(chosen_prefix_, leader_state_->next_slot - 1);
  Send(env.from, r);
}

void Core::HandleLeaseGrant(const Envelope& env) {
  const Message& m = env.msg;
  if (!m.ok || m.id != lease_nonce_ || m.ballot != promised_ ||
      env.from != m.ballot.node || role_ != Role::kFollower) {
    return;
  }
  ReadLease lease{m.ballot, m.sent_ns + static_cast<int64_t>(m.slot), m.index};
  if (read_lease_ && read_lease_->ballot == m.ballot) {
    lease.until_ns = std::max(lease.until_ns, read_lease_->until_ns);
    lease.index = std::max(lease.index, read_lease_->index);
  }
  read_lease_ = lease;
}

std::optional<uint64_t> Core::FollowerReadIndex(int64_t now_ns) const {
  if (!read_lease_ || role_ != Role::kFollower ||
      now_ns >= read_lease_->until_ns || read_lease_->ballot != promised_) {
    return std::nullopt;
  }
  // A slot we accepted in the lease's ballot may be chosen with our accept
  // and acknowledged already; a read must wait until it is applied here.
  uint64_t index = read_lease_->index;
  for (auto it = log_.rbegin(); it != log_.rend() && it->first > index; ++it) {
    if (it->second.ballot == read_lease_->ballot) {
      index = it->first;
      break;
    }
  }
  return index;
}

bool Core::HoldersAccepted(const Inflight& f, int64_t now_ns) const {
  for (const auto& [holder, until] : leader_state_->read_grants) {
    if (now_ns < until && f.acks.count(holder) == 0) return false;
  }
  return true;
}

}  // namespace paxosfs::replica
