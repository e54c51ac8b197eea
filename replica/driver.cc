#include "replica/driver.h"

#include <pthread.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "common/logging.h"
#include "replica/core/codec.h"
#include "replica/core/core.h"
#include "replica/core/log_values.h"
#include "replica/driver_disk.h"
#include "replica/driver_votes.h"
#include "replica/log_trim.h"

namespace paxosfs::replica {
namespace {

// The first byte of every transport body says what follows.
constexpr char kTagCore = 'c';     // A core message (codec.h).
constexpr char kTagForward = 'f';  // A command forwarded to the leader.

// A transport body holding a core message, encoded after its tag without
// a second copy of its values.
std::string CoreBody(const Message& msg) {
  std::string body(1, kTagCore);
  AppendMessage(msg, &body);
  return body;
}

struct ReadWaiter {
  bool done = false;
  Status status;
  uint64_t index = 0;
};

struct ChangeWaiter {
  MembershipChange change;
  bool done = false;
  StatusOr<NodeId> result = Status::Aborted("not handled");
};

struct Inputs {
  std::deque<std::pair<uint64_t, std::string>> messages;
  std::deque<std::string> proposals;
  std::deque<std::shared_ptr<ReadWaiter>> reads;
  std::deque<std::shared_ptr<ChangeWaiter>> changes;
  Status halt;  // Halt() was called with this reason.
  bool Empty() const {
    return messages.empty() && proposals.empty() && reads.empty() &&
           changes.empty() && halt.ok();
  }
};

class DriverImpl final : public Driver {
 public:
  DriverImpl(const DriverOptions& options, log::Log* log, Transport* transport,
             Applier* applier, std::unique_ptr<Core> core)
      : options_(options),
        log_(log),
        transport_(transport),
        applier_(applier),
        core_(std::move(core)),
        trim_(options.truncate_margin_slots, options.truncate_margin_bytes,
              options.truncate_every_slots) {
    last_pushed_ = applier_->applied_index();
    UpdateStatus();
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "driver");
      Run();
    });
  }

  ~DriverImpl() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    read_cv_.notify_all();
    thread_.join();
    // Chosen marks ride along with the next vote's sync; without one here
    // a clean stop loses those the store already applied, and peers asking
    // this node for the slots after a restart are refused (replica/README.md,
    // "catch-up").
    if (failed_.ok()) (void)log_->Sync();
    FailReads(Status::Aborted("the node is shutting down"));
  }

  void Receive(uint64_t from, std::string body) override {
    std::optional<std::string> reply;
    {
      std::lock_guard<std::mutex> lock(mu_);
      reply = AnswerReadIndex(body);
      if (!reply) inputs_.messages.emplace_back(from, std::move(body));
    }
    if (reply) {
      transport_->Send(from, std::move(*reply));
    } else {
      cv_.notify_one();
    }
  }

  Status Propose(std::string command) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!status_.error.ok()) return status_.error;
      if (status_.leader_id == kNoNode) {
        return Status::Unavailable("no leader is elected yet");
      }
      inputs_.proposals.push_back(std::move(command));
    }
    cv_.notify_one();
    return Status::Ok();
  }

  StatusOr<uint64_t> ReadIndex(std::chrono::milliseconds timeout) override {
    auto waiter = std::make_shared<ReadWaiter>();
    std::unique_lock<std::mutex> lock(mu_);
    if (!status_.error.ok()) return status_.error;
    // A leader under its lease answers with no turn of the driver thread:
    // the two thread handoffs cost more than the rest of a stat.
    if (options_.clock->MonotonicNanos() < local_reads_.until_ns) {
      return local_reads_.index;
    }
    inputs_.reads.push_back(waiter);
    cv_.notify_one();
    if (!read_cv_.wait_for(lock, timeout, [&] { return waiter->done; })) {
      return Status::Unavailable("no leader confirmed a read index within " +
                                 std::to_string(timeout.count()) + " ms");
    }
    if (!waiter->status.ok()) return waiter->status;
    return waiter->index;
  }

  LocalReads LocalReadWindow() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return {local_reads_.index, local_reads_.until_ns};
  }

  StatusOr<NodeId> ChangeMembership(const MembershipChange& change) override {
    auto waiter = std::make_shared<ChangeWaiter>();
    waiter->change = change;
    std::unique_lock<std::mutex> lock(mu_);
    if (!status_.error.ok()) return status_.error;
    inputs_.changes.push_back(waiter);
    cv_.notify_one();
    // The driver thread answers within one turn, or at stop.
    read_cv_.wait(lock, [&] { return waiter->done || stopping_; });
    if (!waiter->done) return Status::Aborted("the node is shutting down");
    return waiter->result;
  }

  DriverStatus status() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }

  void Halt(Status why) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!status_.error.ok() || why.ok()) return;
      // Visible at once, so no proposal or read barrier starts meanwhile.
      status_.error = why;
      inputs_.halt = std::move(why);
    }
    cv_.notify_one();
  }

 private:
  void Run();
  void Turn(Inputs inputs);
  void StepMessage(uint64_t from, const std::string& body, int64_t now);
  void Offer(std::string command, int64_t now);
  StatusOr<NodeId> Change(const MembershipChange& change, int64_t now);
  void UpdatePeers();
  void SendMessages(Ready& ready, bool after_sync);
  Status Append(Ready& ready);
  // Pushes the committed slots below `below` not pushed yet.
  void PushCommitted(Ready& ready, uint64_t below);
  void Deliver(Ready& ready);
  void MaybeTruncate();
  void UpdateStatus();
  // Publishes the core's local read window for ReadIndex.
  void PublishLocalReads(int64_t now);
  // The reply to a follower's read barrier, from the local read window, if
  // `body` is one and the window is open. REQUIRES: mu_ held.
  std::optional<std::string> AnswerReadIndex(const std::string& body) const;
  void FailReads(const Status& status);
  // Stops taking part: every later turn only fails waiters.
  void Stop(const Status& why, const char* what);

  const DriverOptions options_;
  log::Log* const log_;
  Transport* const transport_;
  Applier* const applier_;

  // Owned by the driver thread.
  std::unique_ptr<Core> core_;
  std::map<uint64_t, std::shared_ptr<ReadWaiter>> pending_reads_;
  uint64_t last_pushed_ = 0;
  LogTrim trim_;
  Status failed_;
  uint64_t peers_config_slot_ = UINT64_MAX;  // Peers set from this config.
  std::map<NodeId, std::string> peers_;
  std::pair<NodeId, uint64_t> snapshot_needed_{kNoNode, 0};

  mutable std::mutex mu_;
  std::condition_variable cv_;         // Inputs arrived or stopping.
  std::condition_variable read_cv_;    // A read or change waiter is done.
  Inputs inputs_;                      // Guarded by mu_.
  DriverStatus status_;                // Guarded by mu_.
  Core::LocalReadWindow local_reads_;  // Guarded by mu_.
  bool stopping_ = false;              // Guarded by mu_.
  std::thread thread_;
};

void DriverImpl::Run() {
  auto tick = std::chrono::milliseconds(options_.tick_ms);
  auto next_tick = std::chrono::steady_clock::now() + tick;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_until(lock, next_tick,
                   [this] { return stopping_ || !inputs_.Empty(); });
    if (stopping_) break;
    Inputs inputs;
    std::swap(inputs, inputs_);
    lock.unlock();
    if (std::chrono::steady_clock::now() >= next_tick) {
      next_tick = std::chrono::steady_clock::now() + tick;
    }
    Turn(std::move(inputs));
    lock.lock();
  }
}

void DriverImpl::Turn(Inputs inputs) {
  int64_t now = options_.clock->MonotonicNanos();
  if (failed_.ok() && !inputs.halt.ok()) {
    Stop(inputs.halt, "this node's data is damaged");
  }
  if (failed_.ok()) {
    for (auto& [from, body] : inputs.messages) StepMessage(from, body, now);
    for (std::string& p : inputs.proposals) Offer(std::move(p), now);
    for (auto& waiter : inputs.reads) {
      pending_reads_[core_->RequestRead(now)] = waiter;
    }
    for (auto& waiter : inputs.changes) {
      waiter->result = Change(waiter->change, now);
    }
    core_->Tick(now);
    Ready ready = core_->TakeReady();
    // Before anything of this Ready leaves: a write chosen in this turn is
    // acknowledged only after lease reads see its slot.
    PublishLocalReads(now);
    ReportVotes(ready, options_);
    // Records are appended (not yet synced) before any message leaves, so a
    // message carrying a value the core left in the log finds it there.
    Status persisted = Append(ready);
    if (persisted.ok()) {
      // A slot chosen by others' durable votes may be applied before this
      // turn's sends and sync: after them, a slot chosen in a turn that
      // also voted for new slots waited for that turn's fdatasync first.
      // One whose choice may rest on a vote of this turn (a lone voter's
      // own) waits for the sync.
      PushCommitted(ready, FirstVotedSlot(ready));
      SendMessages(ready, /*after_sync=*/false);
      persisted = NeedsSync(ready) ? log_->Sync() : Status::Ok();
    }
    if (persisted.ok()) {
      PushCommitted(ready, UINT64_MAX);
      Deliver(ready);
      MaybeTruncate();
    } else if (failed_.ok()) {
      // The log may have lost what it reported written: taking part any
      // further could break agreement. Stop; a restart re-reads the disk.
      Stop(persisted, "the log cannot be written");
    }
  }
  if (!failed_.ok()) {
    FailReads(failed_);
    pending_reads_.clear();
  }
  UpdatePeers();
  UpdateStatus();
  if (!inputs.changes.empty()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& waiter : inputs.changes) {
        if (!failed_.ok()) waiter->result = failed_;
        waiter->done = true;
      }
    }
    read_cv_.notify_all();
  }
}

StatusOr<NodeId> DriverImpl::Change(const MembershipChange& change,
                                    int64_t now) {
  if (core_->role() != Role::kLeader) {
    NodeId leader = core_->LeaderHint();
    return Status::Unavailable(
        leader == kNoNode ? std::string("no leader is elected yet")
                          : "node " + std::to_string(leader) +
                                " leads; ask it to change the membership");
  }
  auto outcome = ApplyChange(core_->LatestConfig(), change);
  if (!outcome.ok()) return outcome.status();
  if (!outcome->unchanged) {
    PAXOSFS_RETURN_IF_ERROR(core_->ProposeConfig(outcome->next, now));
    Logf(LogLevel::kInfo, "consensus",
         "proposed membership change: %s node %llu",
         ChangeKindName(change.kind),
         static_cast<unsigned long long>(outcome->node));
  }
  return outcome->node;
}

void DriverImpl::UpdatePeers() {
  const auto& configs = core_->configs();
  uint64_t latest = configs.rbegin()->first;
  if (latest == peers_config_slot_) return;
  peers_config_slot_ = latest;
  // The previous configuration still governs slots up to α past the
  // latest's, so its members stay reachable too.
  std::map<NodeId, std::string> wanted;
  auto it = configs.rbegin();
  for (int i = 0; i < 2 && it != configs.rend(); ++i, ++it) {
    for (const auto& [node, address] : it->second.addresses) {
      if (node != options_.node_id) wanted.emplace(node, address);
    }
  }
  for (const auto& [node, address] : peers_) {
    if (!wanted.count(node)) transport_->RemovePeer(node);
  }
  for (const auto& [node, address] : wanted) {
    auto old = peers_.find(node);
    if (old == peers_.end() || old->second != address) {
      transport_->SetPeer(node, address);
    }
  }
  peers_ = std::move(wanted);
}

void DriverImpl::StepMessage(uint64_t from, const std::string& body,
                             int64_t now) {
  if (body.empty()) return;
  std::string_view payload(body.data() + 1, body.size() - 1);
  if (body[0] == kTagForward) {
    // Only the leader can place it; elsewhere drop it and let the
    // proposer, which re-offers unapplied commands, find the new leader.
    if (core_->role() == Role::kLeader) {
      (void)core_->Propose(std::string(payload), now);
    }
    return;
  }
  auto msg = DecodeMessage(payload);
  if (body[0] != kTagCore || !msg.ok()) {
    Logf(LogLevel::kWarning, "consensus",
         "dropped an undecodable message from node %llu",
         static_cast<unsigned long long>(from));
    return;
  }
  core_->Step(Envelope{from, options_.node_id, std::move(msg).value()}, now);
}

void DriverImpl::Offer(std::string command, int64_t now) {
  if (core_->role() == Role::kLeader) {
    (void)core_->Propose(std::move(command), now);
    return;
  }
  NodeId leader = core_->LeaderHint();
  if (leader != kNoNode && leader != options_.node_id) {
    transport_->Send(leader, kTagForward + command);
  }
}

Status DriverImpl::Append(Ready& ready) {
  if (ready.metadata) {
    PAXOSFS_RETURN_IF_ERROR(log_->SetMetadata(EncodeMetadata(*ready.metadata)));
  }
  if (!ready.records.empty()) {
    std::vector<log::Entry> entries;
    entries.reserve(ready.records.size());
    // The records' values are not needed after this (votes were reported):
    // moved, not copied.
    for (LogRecord& r : ready.records) {
      entries.push_back({r.slot, r.ballot.round, r.ballot.node, r.chosen,
                         std::move(r.value)});
    }
    PAXOSFS_RETURN_IF_ERROR(log_->Append(entries));
  }
  return Status::Ok();
}

void DriverImpl::SendMessages(Ready& ready, bool after_sync) {
  for (Envelope& env : ready.messages) {
    if (!failed_.ok()) return;
    if (VouchesForDisk(env.msg.type) != after_sync) continue;
    Status filled = FillValuesFromLog(
        env.msg, [this](uint64_t slot) { return ReadRecord(log_, slot); });
    if (filled.code() == StatusCode::kCorruption) {
      // A record this node wrote no longer reads back: its other votes
      // cannot be trusted either, so it must not promise or accept again.
      Stop(filled, "the log is corrupt");
      return;
    }
    if (!filled.ok()) {
      // Sending it without the value could mislead a candidate; dropping it
      // is what a lossy network may do anyway.
      Logf(LogLevel::kError, "consensus", "dropped a message to node %llu: %s",
           static_cast<unsigned long long>(env.to), filled.ToString().c_str());
      continue;
    }
    transport_->Send(env.to, CoreBody(env.msg));
  }
}

void DriverImpl::PushCommitted(Ready& ready, uint64_t below) {
  for (ChosenEntry& e : ready.committed) {
    if (e.slot <= last_pushed_) continue;
    if (e.slot >= below) return;
    last_pushed_ = e.slot;
    trim_.Pushed(e.slot, e.value.size());
    applier_->Push(e.slot, std::move(e.commands));
  }
}

void DriverImpl::Deliver(Ready& ready) {
  SendMessages(ready, /*after_sync=*/true);
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (uint64_t id : ready.reads_ready) {
      auto it = pending_reads_.find(id);
      if (it == pending_reads_.end()) continue;
      it->second->done = true;
      it->second->index = last_pushed_;
      pending_reads_.erase(it);
    }
    for (uint64_t id : ready.reads_failed) {
      auto it = pending_reads_.find(id);
      if (it == pending_reads_.end()) continue;
      it->second->done = true;
      it->second->status =
          Status::Unavailable("the read barrier timed out (no leader lease)");
      pending_reads_.erase(it);
    }
  }
  read_cv_.notify_all();
  if (ready.snapshot_needed &&
      ready.snapshot_needed->second > snapshot_needed_.second &&
      ready.snapshot_needed->second > core_->chosen_prefix()) {
    snapshot_needed_ = *ready.snapshot_needed;
    Logf(LogLevel::kWarning, "consensus",
         "node %llu no longer has the slots this node needs (it truncated "
         "its log through %llu); this node must be rebuilt from a snapshot",
         static_cast<unsigned long long>(snapshot_needed_.first),
         static_cast<unsigned long long>(snapshot_needed_.second));
  }
}

void DriverImpl::MaybeTruncate() {
  std::optional<uint64_t> through =
      trim_.Through(applier_->durable_index(), log_->FirstSlot());
  if (!through) return;
  Status s = log_->TruncatePrefix(*through + 1);
  if (!s.ok()) {
    Stop(s, "the log cannot be truncated");
    return;
  }
  core_->Compacted(*through);
  trim_.Truncated(*through);
}

void DriverImpl::UpdateStatus() {
  int64_t now = options_.clock->MonotonicNanos();
  std::lock_guard<std::mutex> lock(mu_);
  status_.leader_id = core_->LeaderHint();
  status_.promised = core_->promised();
  status_.is_leader = core_->role() == Role::kLeader;
  status_.lease_valid = core_->LocalReadWindowAt(now).has_value();
  // The core keeps accepting for every remembered configuration (an older
  // one may still govern slots in the window); a user asks whether the
  // latest one counts this node's vote. A stopped node votes no more.
  status_.voting = failed_.ok() &&
                   core_->LatestConfig().IsVoter(core_->id(), core_->disk_id());
  status_.chosen_index = core_->chosen_prefix();
  status_.log_first_slot = log_->FirstSlot();
  status_.disk_id = core_->disk_id();
  // Configurations (with every member's address) change rarely; copy them
  // only then, not on every turn.
  const auto& configs = core_->configs();
  if (status_.configs.size() != configs.size() ||
      status_.configs.back().first != configs.rbegin()->first) {
    status_.configs.assign(configs.begin(), configs.end());
    status_.config = core_->LatestConfig();
  }
  status_.snapshot_peer = snapshot_needed_.first;
  status_.snapshot_index = snapshot_needed_.second;
  status_.error = failed_;
}

void DriverImpl::PublishLocalReads(int64_t now) {
  std::optional<Core::LocalReadWindow> window =
      failed_.ok() ? core_->LocalReadWindowAt(now) : std::nullopt;
  std::lock_guard<std::mutex> lock(mu_);
  local_reads_ = window.value_or(Core::LocalReadWindow{});
}

// Answered on the transport's thread, as the core would answer it (its
// chosen prefix under a valid lease) but without waiting for a turn, which
// may be in the middle of a log sync.
std::optional<std::string> DriverImpl::AnswerReadIndex(
    const std::string& body) const {
  // The message type is the first byte of a core message (a varint < 128).
  // A halted node answers nothing, from the moment Halt is called.
  if (!status_.error.ok() || body.size() < 2 || body[0] != kTagCore ||
      static_cast<uint8_t>(body[1]) !=
          static_cast<uint8_t>(MsgType::kReadIndexRequest) ||
      !local_reads_.leader ||
      options_.clock->MonotonicNanos() >= local_reads_.until_ns) {
    return std::nullopt;
  }
  auto request =
      DecodeMessage(std::string_view(body.data() + 1, body.size() - 1));
  if (!request.ok() || request->type != MsgType::kReadIndexRequest) {
    return std::nullopt;
  }
  Message r;
  r.type = MsgType::kReadIndexReply;
  r.id = request->id;
  r.ok = true;
  r.index = local_reads_.index;
  r.commit = local_reads_.index;
  return CoreBody(r);
}

void DriverImpl::Stop(const Status& why, const char* what) {
  failed_ = why;
  PublishLocalReads(0);
  Logf(LogLevel::kError, "consensus",
       "%s (%s); this node stops taking part in consensus and its reads fail "
       "until it is restarted",
       what, why.ToString().c_str());
}

void DriverImpl::FailReads(const Status& status) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, waiter] : pending_reads_) {
      waiter->done = true;
      waiter->status = status;
    }
  }
  read_cv_.notify_all();
}

}  // namespace

StatusOr<std::unique_ptr<Driver>> Driver::Start(const DriverOptions& options,
                                                log::Log* log,
                                                Transport* transport,
                                                Applier* applier) {
  auto core = CoreFromDisk(options, log, applier->applied_index());
  if (!core.ok()) return core.status();
  return std::unique_ptr<Driver>(std::make_unique<DriverImpl>(
      options, log, transport, applier, std::move(core).value()));
}

}  // namespace paxosfs::replica
