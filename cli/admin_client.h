// Client side of the admin API (proto/admin.proto) for the CLI: a member's
// status, and membership changes sent to whichever node leads.
//
// Thread safety: free functions; each call makes its own channel.
#pragma once

#include <string>

#include "common/status.h"
#include "proto/admin.grpc.pb.h"

namespace paxosfs::cli {

// GetStatus of the member at `address` ("host:port"), within `timeout_ms`,
// with the store digest (a full scan of the store) if `with_digest`.
// kUnavailable, with gRPC's reason, if it does not answer.
StatusOr<proto::NodeStatus> FetchStatus(const std::string& address,
                                        int timeout_ms,
                                        bool with_digest = false);

// Sends `request` to the leader, found through `peer` (any member) and
// followed across leader changes and elections; retries while the answer
// is "not the leader", "no leader yet" or "another change in progress",
// until `timeout_ms`. Other refusals come back at once as kInvalidArgument,
// kNotFound or kAlreadyExists with the leader's reason.
StatusOr<proto::MemberChangeReply> ChangeMembershipViaLeader(
    const std::string& peer, proto::MemberChangeRequest request,
    int timeout_ms);

// The peer address of member `node` as `status` lists it, or "".
std::string MemberAddress(const proto::NodeStatus& status, uint64_t node);

}  // namespace paxosfs::cli
