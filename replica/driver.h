// The consensus driver: runs the pure Multi-Paxos core (replica/core/) on
// one thread, persists what it must to the log before sending anything that
// depends on it, exchanges messages through the transport, and pushes
// chosen slots to the Applier.
//
// Thread safety: all public methods are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "log/log.h"
#include "replica/applier.h"
#include "replica/transport/peer_transport.h"

namespace paxosfs::replica {

struct DriverMember {
  uint64_t id = 0;
  std::string address;
};

struct DriverOptions {
  uint64_t node_id = 0;
  std::vector<DriverMember> voters;  // The initial configuration.
  int tick_ms = 5;
};

struct DriverStatus {
  uint64_t leader_id = 0;
  uint64_t ballot_round = 0;
  uint64_t ballot_node = 0;
  bool is_leader = false;
  bool lease_valid = false;
  bool voting = false;
  uint64_t chosen_index = 0;
  uint64_t log_first_slot = 0;
  std::vector<DriverMember> voters;
  std::vector<DriverMember> learners;
};

class Driver {
 public:
  // Starts the driver thread. `log`, `transport` and `applier` are not
  // owned and must outlive the driver. Messages for the driver arrive
  // through Receive (wire the transport's handler to it).
  static StatusOr<std::unique_ptr<Driver>> Start(const DriverOptions& options,
                                                 log::Log* log,
                                                 Transport* transport,
                                                 Applier* applier);
  virtual ~Driver() = default;

  // Hands a message from `from` to the core. Never blocks for long.
  virtual void Receive(uint64_t from, std::string body) = 0;

  // Offers `command` for a slot: proposed here if this node leads, else
  // forwarded to the leader. Returns at once; the caller learns the outcome
  // from the applied state and re-offers the same command if it does not
  // appear (exactly-once is the state machine's job). kUnavailable if no
  // leader is known.
  virtual Status Propose(std::string command) = 0;

  // The slot a linearizable read must see applied: the leader's chosen
  // index, confirmed under its lease. Waits at most `timeout` for a leader.
  virtual StatusOr<uint64_t> ReadIndex(std::chrono::milliseconds timeout) = 0;

  virtual DriverStatus status() const = 0;
};

}  // namespace paxosfs::replica
