// Plain value types shared by the consensus core, its wire encoding and its
// driver: ballots, configurations, slot values and the records the driver
// persists. Values only; no behaviour beyond comparisons and lookups.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace paxosfs::replica {

using NodeId = uint64_t;
constexpr NodeId kNoNode = 0;

// A ballot orders leaders: higher round wins, the node id breaks ties so two
// candidates never share a ballot.
struct Ballot {
  uint64_t round = 0;
  NodeId node = kNoNode;
  auto operator<=>(const Ballot&) const = default;
  bool IsZero() const { return round == 0 && node == kNoNode; }
};

// A voter is an acceptor identity: the node and the disk it votes with. A
// node whose disk was wiped starts with a new disk id and so is a different
// acceptor; it votes only once a configuration lists the new id.
struct Voter {
  NodeId node = kNoNode;
  uint64_t disk_id = 0;
  bool operator==(const Voter&) const = default;
};

struct Config {
  std::vector<Voter> voters;
  std::vector<NodeId> learners;
  // Where each member's peer service listens ("host:port"). Opaque to the
  // core; carried here so every replica learns a new member's address from
  // the same log entry that admits it.
  std::map<NodeId, std::string> addresses;
  // The id the next admitted node gets: ids are never reused, so a removed
  // node still running cannot be mistaken for a new one.
  NodeId next_node_id = 1;
  bool operator==(const Config&) const = default;

  // The disk id `node` votes with in this configuration, or 0 if it is not
  // a voter.
  uint64_t VoterDisk(NodeId node) const;
  bool IsVoter(NodeId node, uint64_t disk_id) const;
  size_t QuorumSize() const { return voters.size() / 2 + 1; }
  // Every node that should hear from the leader: voters, then learners.
  std::vector<NodeId> AllNodes() const;
};

// What one slot chooses: a no-op (fills a gap), a batch of application
// commands, or a new configuration.
struct Value {
  enum class Kind : uint8_t { kNoop = 0, kBatch = 1, kConfig = 2 };
  Kind kind = Kind::kNoop;
  std::vector<std::string> commands;  // kBatch only.
  Config config;                      // kConfig only.
};

// The acceptor's durable metadata, replaced as a whole (log SetMetadata).
struct Metadata {
  Ballot promised;
  uint64_t disk_id = 0;
  // Chosen configurations by the slot that chose them (0: the genesis one).
  // Kept here, not only in the log, so they survive log truncation.
  std::vector<std::pair<uint64_t, Config>> configs;
};

// One accepted (and maybe chosen) slot, as the log stores it. A later record
// for the same slot supersedes an earlier one.
struct LogRecord {
  uint64_t slot = 0;
  Ballot ballot;
  bool chosen = false;
  std::string value;  // EncodeValue() bytes.
  // Only in PersistentState, for a chosen slot at or below the applied
  // index: `value` was left on disk (it is empty here) and is
  // `value_size` bytes long. The core never needs it in memory again.
  bool value_in_log = false;
  uint64_t value_size = 0;
};

// A chosen slot handed to the state machine, strictly in slot order.
struct ChosenEntry {
  uint64_t slot = 0;
  std::string value;                  // The encoded value, for digests.
  std::vector<std::string> commands;  // Empty for no-ops and configs.
};

}  // namespace paxosfs::replica
