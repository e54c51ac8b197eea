#include "replica/membership.h"

#include <algorithm>

namespace paxosfs::replica {
namespace {

bool IsLearner(const Config& c, NodeId node) {
  return std::find(c.learners.begin(), c.learners.end(), node) !=
         c.learners.end();
}

std::string NodeName(NodeId node) { return "node " + std::to_string(node); }

}  // namespace

const char* ChangeKindName(MembershipChange::Kind kind) {
  switch (kind) {
    case MembershipChange::Kind::kAddLearner:
      return "add";
    case MembershipChange::Kind::kPromote:
      return "promote";
    case MembershipChange::Kind::kDemote:
      return "demote";
    case MembershipChange::Kind::kRemove:
      return "remove";
  }
  return "?";
}

StatusOr<ChangeOutcome> ApplyChange(const Config& latest,
                                    const MembershipChange& change) {
  ChangeOutcome out{latest, change.node, false};
  Config& next = out.next;
  const bool voter = latest.VoterDisk(change.node) != 0;
  const bool learner = IsLearner(latest, change.node);
  switch (change.kind) {
    case MembershipChange::Kind::kAddLearner: {
      if (change.address.empty()) {
        return Status::InvalidArgument("a new node needs a peer address");
      }
      for (const auto& [node, address] : latest.addresses) {
        if (address == change.address) {
          out.node = node;
          out.unchanged = true;
          return out;
        }
      }
      out.node = next.next_node_id++;
      next.learners.push_back(out.node);
      next.addresses[out.node] = change.address;
      return out;
    }
    case MembershipChange::Kind::kPromote:
      if (voter) {
        return Status::AlreadyExists(NodeName(change.node) + " already votes");
      }
      if (!learner) {
        return Status::NotFound(NodeName(change.node) +
                                " is not a learner of this cluster");
      }
      if (change.disk_id == 0) {
        return Status::InvalidArgument("promotion needs the node's disk id");
      }
      std::erase(next.learners, change.node);
      next.voters.push_back({change.node, change.disk_id});
      return out;
    case MembershipChange::Kind::kDemote:
      if (!voter) {
        return Status::InvalidArgument(NodeName(change.node) +
                                       " is not a voter");
      }
      if (latest.voters.size() == 1) {
        return Status::InvalidArgument(
            "the last voter cannot be demoted: promote another node first");
      }
      std::erase_if(next.voters,
                    [&](const Voter& v) { return v.node == change.node; });
      next.learners.push_back(change.node);
      return out;
    case MembershipChange::Kind::kRemove:
      if (!voter && !learner) {
        return Status::NotFound(NodeName(change.node) +
                                " is not a member of this cluster");
      }
      if (voter && latest.voters.size() == 1) {
        return Status::InvalidArgument(
            "the last voter cannot be removed: promote another node first");
      }
      std::erase_if(next.voters,
                    [&](const Voter& v) { return v.node == change.node; });
      std::erase(next.learners, change.node);
      next.addresses.erase(change.node);
      return out;
  }
  return Status::InvalidArgument("unknown membership change");
}

bool ChangeVisible(const Config& config, const MembershipChange& change,
                   NodeId node) {
  const bool voter = config.VoterDisk(node) != 0;
  const bool learner = IsLearner(config, node);
  switch (change.kind) {
    case MembershipChange::Kind::kAddLearner:
      return voter || learner;
    case MembershipChange::Kind::kPromote:
      return config.VoterDisk(node) == change.disk_id;
    case MembershipChange::Kind::kDemote:
      return learner;
    case MembershipChange::Kind::kRemove:
      return !voter && !learner;
  }
  return false;
}

}  // namespace paxosfs::replica
