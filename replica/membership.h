// Membership changes as users ask for them (add a learner, promote, demote,
// remove), turned into the next configuration the core proposes. The core
// only checks that a change moves at most one voter; the rules that make a
// change sensible (a promoted node must be a learner and name the disk it
// votes with, the last voter stays) live here.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "replica/core/types.h"

namespace paxosfs::replica {

struct MembershipChange {
  enum class Kind : uint8_t {
    kAddLearner = 1,
    kPromote = 2,
    kDemote = 3,
    kRemove = 4,
  };
  Kind kind = Kind::kAddLearner;
  NodeId node = kNoNode;  // Promote, demote, remove.
  std::string address;    // Add learner: its peer service's "host:port".
  uint64_t disk_id = 0;   // Promote: the disk the node will vote with.
};

const char* ChangeKindName(MembershipChange::Kind kind);

// The configuration after `change`, and the node it concerns (for an added
// learner, its new id). Adding an address that is already a member's
// returns `latest` unchanged with that member's id, so a join that died
// after being admitted can ask again. Errors (kInvalidArgument, kNotFound,
// kAlreadyExists) say what is wrong with the change.
struct ChangeOutcome {
  Config next;
  NodeId node = kNoNode;
  bool unchanged = false;
};
StatusOr<ChangeOutcome> ApplyChange(const Config& latest,
                                    const MembershipChange& change);

// True when `config` reflects `change` for `node` (what a caller waits for
// after proposing).
bool ChangeVisible(const Config& config, const MembershipChange& change,
                   NodeId node);

}  // namespace paxosfs::replica
