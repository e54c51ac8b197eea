#include "replica/core/types.h"

#include "replica/core/messages.h"

namespace paxosfs::replica {

uint64_t Config::VoterDisk(NodeId node) const {
  for (const Voter& v : voters) {
    if (v.node == node) return v.disk_id;
  }
  return 0;
}

bool Config::IsVoter(NodeId node, uint64_t disk_id) const {
  return disk_id != 0 && VoterDisk(node) == disk_id;
}

std::vector<NodeId> Config::AllNodes() const {
  std::vector<NodeId> out;
  for (const Voter& v : voters) out.push_back(v.node);
  for (NodeId n : learners) out.push_back(n);
  return out;
}

const char* MsgTypeName(MsgType type) {
  switch (type) {
    case MsgType::kPreVote:
      return "PreVote";
    case MsgType::kPreVoteReply:
      return "PreVoteReply";
    case MsgType::kPrepare:
      return "Prepare";
    case MsgType::kPromise:
      return "Promise";
    case MsgType::kAccept:
      return "Accept";
    case MsgType::kAccepted:
      return "Accepted";
    case MsgType::kHeartbeat:
      return "Heartbeat";
    case MsgType::kHeartbeatReply:
      return "HeartbeatReply";
    case MsgType::kCatchupRequest:
      return "CatchupRequest";
    case MsgType::kCatchupReply:
      return "CatchupReply";
    case MsgType::kReadIndexRequest:
      return "ReadIndexRequest";
    case MsgType::kReadIndexReply:
      return "ReadIndexReply";
    case MsgType::kCommit:
      return "Commit";
    case MsgType::kLeaseRequest:
      return "LeaseRequest";
    case MsgType::kLeaseGrant:
      return "LeaseGrant";
  }
  return "Unknown";
}

}  // namespace paxosfs::replica
