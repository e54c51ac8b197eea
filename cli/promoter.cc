#include "cli/promoter.h"

#include "cli/admin_client.h"
#include "cli/rebuild.h"
#include "common/logging.h"

namespace paxosfs::cli {
namespace {

// Caught up: within this many slots of the leader's chosen index.
constexpr uint64_t kCaughtUpSlots = 64;

}  // namespace

Promoter::Promoter(const Identity& identity, std::string data_dir,
                   tls::Material tls, const replica::Driver* driver,
                   const replica::Applier* applier)
    : identity_(identity),
      data_dir_(std::move(data_dir)),
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
  if (s.voting) return Done();
  // A halted node (damaged data) must not ask for a vote.
  if (!s.error.ok()) return true;
  auto leader = s.config.addresses.find(s.leader_id);
  if (s.leader_id == replica::kNoNode || leader == s.config.addresses.end()) {
    return false;
  }
  auto leader_status = FetchStatus(tls_, leader->second, 2000);
  if (!leader_status.ok() || applier_->applied_index() + kCaughtUpSlots <
                                 leader_status->chosen_index()) {
    return false;
  }
  uint64_t listed_disk = 0;
  for (const proto::MemberStatus& m : leader_status->members()) {
    if (m.id() == identity_.node_id) listed_disk = m.disk_id();
  }
  // Already re-admitted: this node votes once it applies that change.
  if (listed_disk == s.disk_id) return false;
  proto::MemberChangeRequest request;
  request.set_node(identity_.node_id);
  if (listed_disk != 0) {
    request.set_kind(proto::MemberChangeRequest::DEMOTE);
    if (!Ask(leader->second, request)) return false;
    Logf(LogLevel::kInfo, "node",
         "demoted this node's old disk %llu (its votes were lost with it)",
         static_cast<unsigned long long>(listed_disk));
  }
  request.set_kind(proto::MemberChangeRequest::PROMOTE);
  request.set_disk_id(s.disk_id);
  if (!Ask(leader->second, request)) return false;
  Logf(LogLevel::kInfo, "node", "caught up; this node now votes with disk %llu",
       static_cast<unsigned long long>(s.disk_id));
  // The leader answers once the change is chosen: done. Polling on until
  // this node reports itself voting would undo a `members demote` made in
  // between (a flake of JoinTest.PromoteRemoveReplace_ThenLeaderKilled).
  return Done();
}

bool Promoter::Done() {
  Status cleared = ClearRevote(data_dir_);
  if (!cleared.ok()) {
    Logf(LogLevel::kWarning, "node", "%s", cleared.ToString().c_str());
  }
  return true;
}

bool Promoter::Ask(const std::string& leader,
                   proto::MemberChangeRequest request) {
  // Retries "another change in progress" (the demotion not yet in force).
  auto reply = ChangeMembershipViaLeader(tls_, leader, request, 20000);
  if (reply.ok()) return true;
  StatusCode code = reply.status().code();
  if (code != StatusCode::kUnavailable && code != StatusCode::kTimedOut) {
    Logf(LogLevel::kError, "node",
         "the leader refused to make this node a voter: %s; it stays a "
         "learner (see `paxosfs members promote`)",
         reply.status().ToString().c_str());
    // Ends Run: asking again would be refused again.
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  return false;
}

}  // namespace paxosfs::cli
