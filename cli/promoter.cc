#include "cli/promoter.h"

#include "cli/admin_client.h"
#include "common/logging.h"

namespace paxosfs::cli {
namespace {

// Caught up: within this many slots of the leader's chosen index.
constexpr uint64_t kCaughtUpSlots = 64;

}  // namespace

Promoter::Promoter(const Identity& identity, tls::Material tls,
                   const replica::Driver* driver,
                   const replica::Applier* applier)
    : identity_(identity),
      tls_(std::move(tls)),
      driver_(driver),
      applier_(applier) {
  thread_ = std::thread([this] { Run(); });
}

Promoter::~Promoter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Promoter::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    bool done = TryOnce();
    lock.lock();
    if (done) return;
    cv_.wait_for(lock, std::chrono::milliseconds(500),
                 [this] { return stopping_; });
  }
}

bool Promoter::TryOnce() {
  replica::DriverStatus s = driver_->status();
  if (s.voting) return true;
  auto leader = s.config.addresses.find(s.leader_id);
  if (s.leader_id == replica::kNoNode || leader == s.config.addresses.end()) {
    return false;
  }
  auto leader_status = FetchStatus(tls_, leader->second, 2000);
  if (!leader_status.ok() || applier_->applied_index() + kCaughtUpSlots <
                                 leader_status->chosen_index()) {
    return false;
  }
  proto::MemberChangeRequest request;
  request.set_kind(proto::MemberChangeRequest::PROMOTE);
  request.set_node(identity_.node_id);
  request.set_disk_id(s.disk_id);
  auto reply = ChangeMembershipViaLeader(tls_, leader->second, request, 20000);
  if (reply.ok()) {
    Logf(LogLevel::kInfo, "node", "caught up; this node now votes");
    return true;
  }
  if (reply.status().code() == StatusCode::kUnavailable ||
      reply.status().code() == StatusCode::kTimedOut) {
    return false;
  }
  Logf(LogLevel::kError, "node",
       "the leader refused to make this node a voter: %s; it stays a learner "
       "(see `paxosfs members promote`)",
       reply.status().ToString().c_str());
  return true;
}

}  // namespace paxosfs::cli
