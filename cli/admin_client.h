// Client side of the admin API (proto/admin.proto) for the CLI: a member's
// status, and membership changes sent to whichever node leads.
//
// Every call is mutual TLS with `tls`, a node's material (cli/tls_files.h):
// the server must prove a certificate of the cluster's CA, and the admin
// API refuses callers without a node certificate of the cluster.
//
// Thread safety: free functions; each call makes its own channel.
#pragma once

#include <string>

#include "common/status.h"
#include "proto/admin.grpc.pb.h"
#include "tls/credentials.h"

namespace paxosfs::cli {

// GetStatus of the member at `address` ("host:port"), within `timeout_ms`,
// with the store digest (a full scan of the store) if `with_digest`.
// kUnavailable, with gRPC's reason, if it does not answer;
// kPermissionDenied, saying why, if TLS fails or the node refuses us.
StatusOr<proto::NodeStatus> FetchStatus(const tls::Material& tls,
                                        const std::string& address,
                                        int timeout_ms,
                                        bool with_digest = false);

// Sends `request` to the leader, found through `peer` (any member) and
// followed across leader changes and elections; retries while the answer
// is "not the leader", "no leader yet" or "another change in progress",
// until `timeout_ms`. Other refusals come back at once as kInvalidArgument,
// kNotFound or kAlreadyExists with the leader's reason, and TLS failures
// as kPermissionDenied.
StatusOr<proto::MemberChangeReply> ChangeMembershipViaLeader(
    const tls::Material& tls, const std::string& peer,
    proto::MemberChangeRequest request, int timeout_ms);

// A channel to a member's services with `tls` (any of its stubs).
std::shared_ptr<grpc::Channel> DialMember(const tls::Material& tls,
                                          const std::string& address);

// The peer address of member `node` as `status` lists it, or "".
std::string MemberAddress(const proto::NodeStatus& status, uint64_t node);

}  // namespace paxosfs::cli
