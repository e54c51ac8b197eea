#include "cli/admin_service.h"

#include "cli/version.h"

namespace paxosfs::cli {
namespace {

std::string AddressOf(const Identity& identity, uint64_t node) {
  for (const Member& m : identity.members) {
    if (m.id == node) return m.address;
  }
  return "";
}

void AddMember(const Identity& identity, uint64_t node, const char* role,
               proto::NodeStatus* reply) {
  proto::MemberStatus* s = reply->add_members();
  s->set_id(node);
  s->set_address(AddressOf(identity, node));
  s->set_role(role);
}

}  // namespace

grpc::ServerUnaryReactor* AdminService::GetStatus(
    grpc::CallbackServerContext* context, const proto::StatusRequest*,
    proto::NodeStatus* reply) {
  reply->set_node_id(identity_.node_id);
  reply->set_cluster_id(identity_.cluster_id);
  reply->set_version(VersionString());
  reply->set_mount_point(mount_point_);
  reply->set_applied_index(applier_->applied_index());
  reply->set_durable_index(applier_->durable_index());
  auto reader = fs_->NewReader();
  if (reader.ok()) {
    auto index = (*reader)->AppliedIndex();
    auto digest = (*reader)->Digest();
    if (index.ok() && digest.ok()) {
      reply->set_applied_index(*index);
      reply->set_digest(*digest);
    }
  }
  if (const replica::Driver* driver = driver_.load()) {
    replica::DriverStatus s = driver->status();
    reply->set_leader_id(s.leader_id);
    reply->set_ballot_round(s.promised.round);
    reply->set_ballot_node(s.promised.node);
    reply->set_is_leader(s.is_leader);
    reply->set_lease_valid(s.lease_valid);
    reply->set_voting(s.voting);
    reply->set_chosen_index(s.chosen_index);
    reply->set_log_first_slot(s.log_first_slot);
    for (const replica::Voter& v : s.config.voters) {
      AddMember(identity_, v.node, "voter", reply);
    }
    for (replica::NodeId learner : s.config.learners) {
      AddMember(identity_, learner, "learner", reply);
    }
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace paxosfs::cli
