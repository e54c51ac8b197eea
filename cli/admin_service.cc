#include "cli/admin_service.h"

#include <chrono>

#include "cli/input_checks.h"
#include "cli/version.h"
#include "replica/core/codec.h"

namespace paxosfs::cli {
namespace {

// Long enough for a change to be chosen under load; a change that takes
// longer is reported as still in progress, not as failed.
constexpr auto kChangeTimeout = std::chrono::seconds(10);

void AddMember(const replica::Config& config, uint64_t node, const char* role,
               proto::NodeStatus* reply) {
  proto::MemberStatus* s = reply->add_members();
  s->set_id(node);
  auto it = config.addresses.find(node);
  if (it != config.addresses.end()) s->set_address(it->second);
  s->set_role(role);
  s->set_disk_id(config.VoterDisk(node));
}

// The configuration history as the log's metadata holds it (configs only).
std::string EncodedHistory(const replica::DriverStatus& s) {
  replica::Metadata history;
  history.configs = s.configs;
  return replica::EncodeMetadata(history);
}

}  // namespace

void AdminService::SetDriver(replica::Driver* driver) {
  std::lock_guard<std::mutex> lock(driver_mu_);
  driver_.store(driver);
}

void AdminService::SetMountPoint(std::string mount_point) {
  std::lock_guard<std::mutex> lock(mount_mu_);
  mount_point_ = std::move(mount_point);
}

grpc::ServerUnaryReactor* AdminService::GetStatus(
    grpc::CallbackServerContext* context, const proto::StatusRequest* request,
    proto::NodeStatus* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!request->with_digest()) {
    FillStatus(false, reply);
    reactor->Finish(grpc::Status::OK);
  } else {
    workers_.Run(reactor, [this, reply] {
      FillStatus(true, reply);
      return grpc::Status::OK;
    });
  }
  return reactor;
}

void AdminService::FillStatus(bool with_digest, proto::NodeStatus* reply) {
  reply->set_node_id(identity_.node_id);
  reply->set_cluster_id(identity_.cluster_id);
  reply->set_version(VersionString());
  {
    std::lock_guard<std::mutex> lock(mount_mu_);
    reply->set_mount_point(mount_point_);
  }
  reply->set_applied_index(applier_->applied_index());
  reply->set_durable_index(applier_->durable_index());
  Status apply_error = applier_->error();
  if (!apply_error.ok()) {
    reply->set_problem("cannot apply: " + apply_error.ToString());
  }
  if (with_digest) {
    // Index and digest from one read transaction, so they match.
    auto reader = fs_->NewReader();
    if (reader.ok()) {
      auto index = (*reader)->AppliedIndex();
      auto digest = (*reader)->Digest();
      if (index.ok() && digest.ok()) {
        reply->set_applied_index(*index);
        reply->set_digest(*digest);
      }
    }
  }
  if (const replica::Transport* transport = transport_.load()) {
    replica::TransportStats t = transport->stats();
    reply->set_peer_messages_sent(t.messages_sent);
    reply->set_peer_bytes_sent(t.bytes_sent);
  }
  if (const replica::Driver* driver = driver_.load()) {
    replica::DriverStatus s = driver->status();
    reply->set_leader_id(s.leader_id);
    reply->set_ballot_round(s.promised.round);
    reply->set_ballot_node(s.promised.node);
    reply->set_is_leader(s.is_leader);
    reply->set_lease_valid(s.lease_valid);
    reply->set_voting(s.voting);
    reply->set_disk_id(s.disk_id);
    reply->set_chosen_index(s.chosen_index);
    reply->set_log_first_slot(s.log_first_slot);
    reply->set_snapshot_needed(s.snapshot_index);
    if (!s.error.ok()) {
      // The log's failure comes first: it is why nothing else moves.
      reply->set_problem("takes no part: " + s.error.ToString());
    }
    reply->set_configs(EncodedHistory(s));
    for (const replica::Voter& v : s.config.voters) {
      AddMember(s.config, v.node, "voter", reply);
    }
    for (replica::NodeId learner : s.config.learners) {
      AddMember(s.config, learner, "learner", reply);
    }
  }
}

grpc::ServerUnaryReactor* AdminService::ChangeMembership(
    grpc::CallbackServerContext* context,
    const proto::MemberChangeRequest* request,
    proto::MemberChangeReply* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  workers_.Run(reactor,
               [this, request, reply] { return Change(*request, reply); });
  return reactor;
}

grpc::Status AdminService::Change(const proto::MemberChangeRequest& request,
                                  proto::MemberChangeReply* reply) {
  if (request.cluster_id() != identity_.cluster_id) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "this node belongs to cluster " + identity_.cluster_id +
                            ", not " + request.cluster_id());
  }
  replica::MembershipChange change;
  change.kind = static_cast<replica::MembershipChange::Kind>(request.kind());
  if (request.kind() < proto::MemberChangeRequest::ADD_LEARNER ||
      request.kind() > proto::MemberChangeRequest::REMOVE) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "unknown membership change kind");
  }
  if (request.kind() == proto::MemberChangeRequest::ADD_LEARNER) {
    // Also checked by the CLI; a bad address in the log would be dialled by
    // every member forever.
    Status address = CheckAddress(request.address());
    if (!address.ok()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "the new member's address " + address.message());
    }
  }
  change.node = request.node();
  change.address = request.address();
  change.disk_id = request.disk_id();
  std::lock_guard<std::mutex> lock(driver_mu_);
  replica::Driver* driver = driver_.load();
  if (driver == nullptr) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "the node is starting or stopping");
  }
  if (request.kind() == proto::MemberChangeRequest::ADD_LEARNER) {
    for (const auto& [member, address] : driver->status().config.addresses) {
      if (address == change.address) reply->set_existing(true);
    }
  }
  auto node = driver->ChangeMembership(change);
  if (!node.ok()) return ToGrpc(node.status());
  auto deadline = std::chrono::steady_clock::now() + kChangeTimeout;
  replica::DriverStatus s = driver->status();
  while (!replica::ChangeVisible(s.config, change, *node)) {
    if (std::chrono::steady_clock::now() > deadline) {
      return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                          "the change was proposed but not chosen within 10 "
                          "s; check `paxosfs members` before retrying");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    s = driver->status();
  }
  reply->set_node(*node);
  reply->set_cluster_id(identity_.cluster_id);
  reply->set_configs(EncodedHistory(s));
  return grpc::Status::OK;
}

}  // namespace paxosfs::cli
