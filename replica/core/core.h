// The pure Multi-Paxos core (see replica/README.md for the protocol, the
// lease math and the membership rule).
//
// Inputs: Step (a received message), Tick (the caller's monotonic clock),
// Propose / ProposeConfig, RequestRead, Compacted. Outputs accumulate until
// TakeReady(), in the style of etcd-raft's Ready:
//   1. persist `metadata` (replace) and `records` (append), then Sync;
//   2. only then send `messages`;
//   3. apply `committed` in order, then answer `reads_ready`.
// The core never reads a clock, never blocks and never does I/O; all
// randomness comes from Options::seed, so the same inputs give the same
// outputs.
//
// Thread safety: none. One owner calls every method from one thread.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "replica/core/messages.h"
#include "replica/core/rng.h"
#include "replica/core/types.h"

namespace paxosfs::replica {

struct Options {
  NodeId id = kNoNode;
  Config genesis;  // The cluster's first configuration (in force at slot 1).
  // α: a configuration chosen at slot c governs slots from c + α on, and the
  // leader never has a slot in flight more than α past the chosen prefix.
  uint64_t pipeline_window = 8;
  uint64_t batch_commands_max = 64;
  uint64_t batch_bytes_max = 1 << 20;
  uint64_t pending_commands_max = 4096;
  uint64_t message_entries_max = 256;  // Per Promise / CatchupReply.
  int64_t heartbeat_interval_ns = 50'000'000;
  int64_t election_timeout_ns = 500'000'000;  // Randomized in [t, 2t).
  int64_t lease_ns = 800'000'000;             // Acceptor side, own clock.
  int64_t max_drift_ppm = 10'000;             // ρ: clock rate within 1 ± ρ.
  int64_t lease_margin_ns = 5'000'000;
  int64_t read_timeout_ns = 2'000'000'000;
  // A voter keeps a follower read lease only while it has asked for a
  // read barrier within this long: a lease makes every write wait for its
  // holder, which is worth it only while the holder reads. Reads served
  // under the lease do not reach the core, so it lapses this long after the
  // first of them, and one read then pays a barrier and asks again.
  int64_t read_lease_idle_ns = 10'000'000'000;
  // Learners pull chosen entries through a tree rooted at the voters, each
  // member serving at most this many learners (see TreeParent).
  uint64_t learner_fanout = 4;
  // Learners get the leader's heartbeat once per this many intervals.
  uint64_t learner_heartbeat_every = 5;
  // Must differ between starts of one node (e.g. from std::random_device in
  // the driver): read-barrier ids and fresh disk ids are drawn from it.
  uint64_t seed = 1;
};

// What the driver found on disk at start.
struct PersistentState {
  std::optional<Metadata> metadata;  // Absent: empty (new or wiped) disk.
  std::vector<LogRecord> records;    // In append order.
  uint64_t applied_index = 0;        // The state machine's durable index.
  uint64_t compacted_index = 0;      // Log truncated through here.
};

struct Ready {
  std::optional<Metadata> metadata;
  std::vector<LogRecord> records;
  std::vector<Envelope> messages;      // Only after the above are durable.
  std::vector<ChosenEntry> committed;  // In slot order, no gaps.
  std::vector<uint64_t> reads_ready;   // Read ids now safe to serve.
  std::vector<uint64_t> reads_failed;  // Timed out; retry.
  std::vector<std::string> dropped_commands;  // Lost leadership before slot.
  std::optional<std::pair<NodeId, uint64_t>> snapshot_needed;  // peer, index
  bool Empty() const;
};

enum class Role : uint8_t { kFollower, kCandidate, kPreparing, kLeader };

class Core {
 public:
  // Starts from what is on disk. With no metadata the disk is new or wiped:
  // the core picks a fresh disk id and is not an acceptor until a chosen
  // configuration lists that id.
  Core(Options options, PersistentState disk, int64_t now_ns);
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  // The metadata a node of the genesis configuration writes at `init`.
  static Metadata BootstrapMetadata(const Config& genesis, NodeId id);

  // By value: an accept's values move into the core instead of being
  // copied (they may be MiBs).
  void Step(Envelope env, int64_t now_ns);
  void Tick(int64_t now_ns);

  // Queues an application command (leader only). Unavailable elsewhere:
  // forward it to LeaderHint(). Exactly-once is the state machine's job;
  // the command carries its request id, so re-proposing it is harmless.
  Status Propose(std::string command, int64_t now_ns);
  // One membership change at a time (leader only): `next` must differ from
  // the latest configuration by at most one voter added or removed.
  Status ProposeConfig(const Config& next, int64_t now_ns);

  // A read barrier: returns an id that shows up in Ready::reads_ready once
  // the local applied state includes every write acknowledged before now.
  uint64_t RequestRead(int64_t now_ns);
  // True when the leader may answer reads from its applied state now.
  bool CanServeLocalRead(int64_t now_ns) const;
  // How long this node may serve reads without a barrier: while the
  // caller's clock reads below `until_ns`, a read may use the applied state
  // once it reaches `index`, as RequestRead would have had it answered.
  // On the leader it rests on its lease alone (no rival can have a value
  // chosen before it ends); on a voter holding a follower read lease, on
  // the leader counting nothing chosen without this voter's accept. Either
  // holds whatever the core learns meanwhile, provided the caller takes a
  // new one before any output of a later TakeReady leaves (a value chosen
  // with this node's accept must not be acknowledged before the index
  // covers it).
  struct LocalReadWindow {
    uint64_t index = 0;
    int64_t until_ns = 0;
    bool leader = false;  // Only a leader's window answers others' barriers.
  };
  std::optional<LocalReadWindow> LocalReadWindowAt(int64_t now_ns) const;

  // The state machine checkpointed through `index`; the log was truncated.
  void Compacted(uint64_t index);

  Ready TakeReady();

  // Always-on invariant checks; stops the process on a violation.
  void CheckAll() const;

  NodeId id() const { return opt_.id; }
  Role role() const { return role_; }
  NodeId LeaderHint() const { return leader_; }
  Ballot promised() const { return promised_; }
  uint64_t disk_id() const { return disk_id_; }
  uint64_t chosen_prefix() const { return chosen_prefix_; }
  uint64_t applied_index() const { return applied_; }
  bool IsAcceptor() const;
  const Config& LatestConfig() const;
  // Every chosen configuration by the slot that chose it (0: genesis).
  const std::map<uint64_t, Config>& configs() const { return configs_; }
  // The configuration governing `slot`. REQUIRES: slot - α <= chosen prefix.
  const Config& ConfigFor(uint64_t slot) const;
  bool ConfigChangePending() const;

 private:
  struct Slot {
    Ballot ballot;
    std::string value;
    bool chosen = false;
    // Applied slots keep their value only in the log (memory stays bounded
    // by what is in flight, not by the log's length); `value` is then empty
    // and `value_size` says how long it is.
    bool value_in_log = false;
    uint64_t value_size = 0;
  };
  struct Inflight {
    std::string value;
    std::set<NodeId> acks;
    int64_t sent_ns = 0;  // When its accepts last left.
  };
  struct Leader {
    Ballot ballot;
    std::map<NodeId, uint64_t> promises;  // node -> disk id it promised with.
    std::map<uint64_t, WireEntry> recovered;  // Highest-ballot value per slot.
    uint64_t recovery_end = 0;
    uint64_t next_slot = 0;
    std::map<uint64_t, Inflight> inflight;
    std::map<NodeId, std::pair<uint64_t, int64_t>> grants;  // disk, sent_ns
    // Follower read leases granted: holder -> our clock until which no slot
    // counts as chosen without the holder's accept.
    std::map<NodeId, int64_t> read_grants;
    std::deque<std::string> pending;
    uint64_t pending_bytes = 0;
    std::optional<Config> pending_config;
    uint64_t config_slot = 0;  // Slot of our unchosen config proposal.
    int64_t start_ns = 0;
    int64_t last_heartbeat_ns = -1;
    uint64_t commit_sent = 0;
    uint64_t heartbeats = 0;
  };
  // A follower read lease this voter holds (replica/README.md).
  struct ReadLease {
    Ballot ballot;
    int64_t until_ns = 0;
    uint64_t index = 0;
  };
  struct Read {
    int64_t deadline_ns = 0;
    uint64_t barrier = 0;  // First barrier id sent for it; 0: none yet.
    int64_t sent_ns = 0;
    std::optional<uint64_t> index;
  };

  // core.cc
  void Send(NodeId to, Message msg);
  void DrainLocal(int64_t now_ns);
  void Dispatch(Envelope& env, int64_t now_ns);
  void ResetElectionTimer(int64_t now_ns);
  void SetPromised(Ballot b);
  void NoteRound(const Ballot& b);
  void StartPreVote(int64_t now_ns);
  void StartPrepare(int64_t now_ns);
  void BecomeFollower();
  bool CanCampaign(int64_t now_ns) const;
  bool LeaseHeldByOther(NodeId candidate, int64_t now_ns) const;
  // acceptor.cc
  void HandlePreVote(const Envelope& env, int64_t now_ns);
  void HandlePreVoteReply(const Envelope& env, int64_t now_ns);
  void HandlePrepare(const Envelope& env, int64_t now_ns);
  void HandleAccept(Envelope& env, int64_t now_ns);
  void HandleHeartbeat(const Envelope& env, int64_t now_ns);
  void HandleCommit(const Envelope& env);
  bool AcceptLeader(const Message& m, NodeId from, int64_t now_ns);
  // leader.cc
  void HandlePromise(const Envelope& env, int64_t now_ns);
  void HandleAccepted(const Envelope& env, int64_t now_ns);
  void HandleHeartbeatReply(const Envelope& env, int64_t now_ns);
  void ChooseIfAccepted(uint64_t slot, int64_t now_ns);
  void LeaderTick(int64_t now_ns);
  void FillWindow(int64_t now_ns);
  std::optional<std::string> NextValue(uint64_t slot);
  std::vector<Config> PhaseOneConfigs(uint64_t first) const;
  bool HasPromiseQuorum(const Config& c) const;
  void SendPrepares(const Config& c);
  void SendAccepts(const std::vector<uint64_t>& slots, int64_t now_ns);
  void RecordGrant(NodeId from, uint64_t disk, int64_t sent_ns);
  int64_t LeaseExpiry(const Config& c) const;
  // What `ns` measured on another node's clock (from a moment before ours)
  // is surely worth on ours: ns·(1-ρ)/(1+ρ), less the lease margin.
  int64_t TrustedSpan(int64_t ns) const;
  bool StepDownIfHigher(const Message& m);
  // learner.cc
  void MarkChosen(uint64_t slot, const Ballot& ballot, std::string_view value);
  static WireEntry EntryOf(uint64_t slot, const Slot& s);
  void ApplyCommit(const Ballot& ballot, uint64_t commit);
  void AdvancePrefix();
  void MaybeCatchUp(int64_t now_ns);
  NodeId TreeParent() const;
  bool PollParent(int64_t now_ns);
  void SendCatchupRequest(NodeId to, uint64_t through, int64_t now_ns);
  void HandleCatchupRequest(const Envelope& env);
  void HandleCatchupReply(const Envelope& env, int64_t now_ns);
  // Whether `peer` said it cannot serve the slots after our chosen prefix.
  bool RefusedCatchup(NodeId peer) const;
  // Peers known to be ahead of us that did not refuse.
  std::vector<NodeId> CatchupPeers() const;
  bool LeaderMayServeCatchup() const;
  void MaybeAskForSnapshot(int64_t now_ns);
  void HandleReadIndexRequest(const Envelope& env, int64_t now_ns);
  void HandleReadIndexReply(const Envelope& env);
  // read_lease.cc
  void HandleLeaseRequest(const Envelope& env, int64_t now_ns);
  void HandleLeaseGrant(const Envelope& env);
  void RequestReadLease(int64_t now_ns);
  std::optional<uint64_t> FollowerReadIndex(int64_t now_ns) const;
  bool HoldersAccepted(const Inflight& f, int64_t now_ns) const;
  void ReadsTick(int64_t now_ns);
  void ResolveReads();
  Metadata CurrentMetadata() const;

  Options opt_;
  Rng rng_;
  uint64_t disk_id_ = 0;
  Ballot promised_;
  uint64_t max_round_seen_ = 0;
  std::map<uint64_t, Slot> log_;  // Slots above compacted_.
  std::map<uint64_t, Config> configs_;
  uint64_t compacted_ = 0;
  uint64_t chosen_prefix_ = 0;
  uint64_t applied_ = 0;
  uint64_t known_commit_ = 0;
  std::map<NodeId, uint64_t> peer_commit_;

  Role role_ = Role::kFollower;
  NodeId leader_ = kNoNode;
  int64_t last_leader_contact_ns_ = -1;
  int64_t election_deadline_ns_ = 0;
  int64_t last_catchup_ns_ = -1;
  uint64_t catchup_attempts_ = 0;
  // chosen_prefix_ + the tree parent's commit when either last moved, and
  // when: a learner leaves its parent only when neither moves.
  uint64_t progress_mark_ = 0;
  int64_t progress_ns_ = 0;
  uint64_t polled_commit_ = 0;  // known_commit_ at the last parent poll.
  // Peers that answered a catch-up request for chosen_prefix_ + 1 with the
  // index they would need a snapshot from (their log was truncated, or it
  // lacks chosen marks of slots their store applied); cleared when the
  // prefix moves. Others may still hold those slots (MaybeAskForSnapshot).
  std::map<NodeId, uint64_t> catchup_refused_;
  int64_t refused_since_ns_ = 0;  // When the first of them came.
  NodeId lease_holder_ = kNoNode;
  int64_t lease_expiry_ns_ = 0;
  // Follower read leases this node granted as leader may run until here
  // (or, after a start, may have run): it campaigns only afterwards, since
  // a new ballot of its own would not know the holders it must wait for.
  int64_t no_campaign_before_ns_ = 0;
  std::optional<ReadLease> read_lease_;
  uint64_t lease_nonce_ = 0;  // Random per start: old grants never count.
  int64_t lease_requested_ns_ = -1;
  int64_t read_requested_ns_ = -1;
  std::set<NodeId> prevotes_;
  Ballot candidate_ballot_;
  std::optional<Leader> leader_state_;

  std::map<uint64_t, Read> reads_;
  uint64_t next_read_id_ = 1;
  uint64_t next_barrier_ = 0;  // Random epoch << 32 | counter.

  std::deque<Envelope> local_;
  bool metadata_dirty_ = false;
  Ready ready_;
  mutable Ballot checked_promised_;
  mutable uint64_t checked_applied_ = 0;
  uint64_t started_applied_ = 0;  // The state machine's index at start.
};

}  // namespace paxosfs::replica
