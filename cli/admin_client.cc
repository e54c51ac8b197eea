#include "cli/admin_client.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <thread>

namespace paxosfs::cli {
namespace {

using Clock = std::chrono::steady_clock;

std::unique_ptr<proto::Admin::Stub> Stub(const tls::Material& tls,
                                         const std::string& address) {
  return proto::Admin::NewStub(DialMember(tls, address));
}

void SetDeadline(grpc::ClientContext* ctx, int timeout_ms) {
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(timeout_ms));
}

bool Retryable(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE ||
         code == grpc::StatusCode::ABORTED ||
         code == grpc::StatusCode::DEADLINE_EXCEEDED;
}

Status FromGrpc(const grpc::Status& s) {
  std::string tls = tls::ExplainTlsFailure(static_cast<int>(s.error_code()),
                                           s.error_message());
  if (!tls.empty()) return Status::PermissionDenied(tls);
  switch (s.error_code()) {
    case grpc::StatusCode::NOT_FOUND:
      return Status::NotFound(s.error_message());
    case grpc::StatusCode::ALREADY_EXISTS:
      return Status::AlreadyExists(s.error_message());
    case grpc::StatusCode::INVALID_ARGUMENT:
      return Status::InvalidArgument(s.error_message());
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Status::TimedOut(s.error_message());
    default:
      return Status::Unavailable(s.error_message());
  }
}

}  // namespace

std::shared_ptr<grpc::Channel> DialMember(const tls::Material& tls,
                                          const std::string& address) {
  grpc::ChannelArguments args;
  tls::SetServerName(&args);
  return grpc::CreateCustomChannel(address, tls::ClientCredentials(tls), args);
}

StatusOr<proto::NodeStatus> FetchStatus(const tls::Material& tls,
                                        const std::string& address,
                                        int timeout_ms, bool with_digest) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx, timeout_ms);
  proto::StatusRequest request;
  request.set_with_digest(with_digest);
  proto::NodeStatus status;
  grpc::Status s = Stub(tls, address)->GetStatus(&ctx, request, &status);
  if (!s.ok()) {
    Status failed = FromGrpc(s);
    if (failed.code() == StatusCode::kPermissionDenied) return failed;
    return Status::Unavailable(s.error_message());
  }
  return status;
}

std::string MemberAddress(const proto::NodeStatus& status, uint64_t node) {
  for (const proto::MemberStatus& m : status.members()) {
    if (m.id() == node) return m.address();
  }
  return "";
}

StatusOr<proto::MemberChangeReply> ChangeMembershipViaLeader(
    const tls::Material& tls, const std::string& peer,
    proto::MemberChangeRequest request, int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string target = peer;
  Status last = Status::Unavailable("no member answered");
  while (Clock::now() < deadline) {
    auto status = FetchStatus(tls, target, 2000);
    if (status.ok() && status->leader_id() != 0 && !status->is_leader()) {
      std::string leader = MemberAddress(*status, status->leader_id());
      if (!leader.empty()) status = FetchStatus(tls, target = leader, 2000);
    }
    if (status.ok() && status->is_leader()) {
      request.set_cluster_id(status->cluster_id());
      grpc::ClientContext ctx;
      SetDeadline(&ctx, 15000);
      proto::MemberChangeReply reply;
      grpc::Status s =
          Stub(tls, target)->ChangeMembership(&ctx, request, &reply);
      if (s.ok()) return reply;
      last = FromGrpc(s);
      if (!Retryable(s.error_code())) return last;
    } else if (!status.ok()) {
      last = status.status();
      if (last.code() == StatusCode::kPermissionDenied) return last;
      target = peer;  // The leader we followed may have died.
    } else {
      last = Status::Unavailable("no leader is elected yet");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return last;
}

}  // namespace paxosfs::cli
