// The consensus driver: runs the pure Multi-Paxos core (replica/core/) on
// one thread. Each turn it feeds the core what arrived (peer messages,
// proposals, read barriers) and a tick, pushes chosen slots to the
// Applier, and persists the core's records and metadata with one log Sync
// before it sends any message that vouches for them.
//
// Peers: the transport is told the address of every node in the latest two
// configurations, so it reaches members that joined after this node started
// and stops dialing removed ones once no slot in flight can need them.
//
// Forwarding: a proposal made on a node that does not lead goes to the
// leader the core names; proposals are never retried here (the caller
// re-offers a command that does not show up applied).
//
// Thread safety: all public methods are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "log/log.h"
#include "replica/applier.h"
#include "replica/core/types.h"
#include "replica/membership.h"
#include "replica/transport/peer_transport.h"

namespace paxosfs::replica {

struct DriverOptions {
  NodeId node_id = kNoNode;
  Config genesis;  // The cluster's first configuration, as `init` wrote it.
  // Timer resolution only: every turn (a message, a proposal) ticks the core
  // too, so commits and catch-up never wait for it. The core's timers are
  // the 50 ms heartbeat interval and longer; 25 ms keeps heartbeats at 50.
  // Idle 3-node demo, 2026-12-03: 5 ms -> 25 ms took the drivers from ~780
  // to ~270 wake-ups a second and 22.6 to 11.9 ms of CPU a second.
  int tick_ms = 25;
  // Log entries kept below the state machine's durable index, so briefly
  // lagging peers catch up from the log rather than needing a snapshot.
  uint64_t truncate_margin_slots = 10000;
  // And at most this many bytes of values (whichever keeps less), so slots
  // of big writes do not fill the disk: 10,000 slots of 1 MiB are 10 GiB.
  uint64_t truncate_margin_bytes = 1ull << 30;
  // How many newly durable slots trigger a truncation (one past the byte
  // margin truncates at the next checkpoint).
  uint64_t truncate_every_slots = 1000;
  const Clock* clock = &SystemClock::Instance();
  uint64_t seed = 0;  // 0: derived from the clock.
  // Called on the driver thread for each value this node votes for or, as
  // leader, proposes (even where it is no voter), before any message of
  // that turn leaves: so before the vote can count towards choosing the
  // value, and before a leader's accepts reach anyone. Once per slot in a
  // turn; a leader resending accepts reports their slots again. `commands`
  // decodes the value's commands (none for no-ops and configurations) on
  // demand, copying them; nullopt if the value does not decode. Null:
  // nobody listens.
  std::function<void(
      uint64_t slot,
      const std::function<std::optional<std::vector<std::string>>()>& commands)>
      on_vote;
};

// How long this node may answer reads from its applied state without a
// read barrier: while the driver's clock reads below `until_ns`, once the
// applied state reaches `index`. until_ns 0: not now.
struct LocalReads {
  uint64_t index = 0;
  int64_t until_ns = 0;
};

struct DriverStatus {
  NodeId leader_id = kNoNode;
  Ballot promised;
  bool is_leader = false;
  bool lease_valid = false;
  bool voting = false;
  uint64_t chosen_index = 0;
  uint64_t log_first_slot = 0;
  uint64_t disk_id = 0;
  Config config;  // The latest chosen configuration.
  // Every chosen configuration by the slot that chose it: what a joining
  // node starts from.
  std::vector<std::pair<uint64_t, Config>> configs;
  // Set when a peer reported it no longer has the slots this node needs
  // (they were truncated behind its checkpoint): only a snapshot of at least
  // `snapshot_index`, from `snapshot_peer`, lets this node go on.
  uint64_t snapshot_index = 0;
  NodeId snapshot_peer = kNoNode;
  // A failed log write, a corrupt log record, or why Halt was called: the
  // node no longer takes part (no votes, no messages, reads fail).
  Status error;
};

class Driver {
 public:
  // Reads the log to rebuild the core and starts the driver thread. `log`,
  // `transport` and `applier` are not owned and must outlive the driver.
  // Messages for the driver arrive through Receive (wire the transport's
  // handler to it). Errors: the log holds no metadata (the data directory
  // was not initialised) or cannot be read.
  static StatusOr<std::unique_ptr<Driver>> Start(const DriverOptions& options,
                                                 log::Log* log,
                                                 Transport* transport,
                                                 Applier* applier);
  virtual ~Driver() = default;

  // Hands a message from `from` to the driver. Never blocks for long.
  virtual void Receive(uint64_t from, std::string body) = 0;

  // Offers `command` for a slot: proposed here if this node leads, else
  // forwarded to the leader. Returns at once. kUnavailable if no leader is
  // known.
  virtual Status Propose(std::string command) = 0;

  // The slot a linearizable read must see applied: once this node's applied
  // state reaches it, it includes every write acknowledged anywhere before
  // the call. Waits at most `timeout`.
  virtual StatusOr<uint64_t> ReadIndex(std::chrono::milliseconds timeout) = 0;

  // The window in which ReadIndex answers at once, as of the last turn.
  virtual LocalReads LocalReadWindow() const = 0;

  // Proposes the configuration `change` leads to (leader only; elsewhere
  // kUnavailable naming the leader). Returns the node the change concerns
  // once the proposal is placed, not chosen: wait for status().config to
  // show it (ChangeVisible). kAborted while another change is in progress.
  virtual StatusOr<NodeId> ChangeMembership(const MembershipChange& change) = 0;

  virtual DriverStatus status() const = 0;

  // Stops this node taking part for good (until restarted): no more votes,
  // messages or applied slots; proposals, read barriers and membership
  // changes fail with `why`. For damage found outside the log (a corrupt
  // store): a node that can no longer vouch for its data must not answer
  // for it. The first call wins; later ones are ignored.
  virtual void Halt(Status why) = 0;
};

// Writes the metadata a member of the genesis configuration starts with
// (used by `paxosfs init`).
Status BootstrapLog(log::Log* log, const Config& genesis, NodeId id);

}  // namespace paxosfs::replica
