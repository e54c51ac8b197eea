#include "cli/members_command.h"

#include <cinttypes>
#include <cstdio>
#include <optional>
#include <vector>

#include "cli/admin_client.h"
#include "cli/input_checks.h"
#include "cli/tls_files.h"

namespace paxosfs::cli {
namespace {

// A promoted node further behind than this would hold up every write
// while it catches up.
constexpr uint64_t kCaughtUpSlots = 1000;

int Fail(const std::string& what) {
  std::fprintf(stderr, "paxosfs members: %s\n", what.c_str());
  return kExitFailed;
}

int List(const tls::Material& tls, const proto::NodeStatus& view,
         int timeout_ms) {
  std::printf("cluster %s, leader: node %" PRIu64 "\n",
              view.cluster_id().c_str(), view.leader_id());
  std::printf("%-5s %-22s %-8s %-12s %10s\n", "node", "address", "role",
              "state", "applied");
  for (const proto::MemberStatus& m : view.members()) {
    auto s = FetchStatus(tls, m.address(), timeout_ms);
    std::string state = !s.ok()          ? "unreachable"
                        : s->is_leader() ? "leader"
                        : s->voting()    ? "voting"
                                         : "following";
    std::printf("%-5" PRIu64 " %-22s %-8s %-12s %10s\n", m.id(),
                m.address().c_str(), m.role().c_str(), state.c_str(),
                s.ok() ? std::to_string(s->applied_index()).c_str() : "-");
  }
  return 0;
}

// Voters of the configuration after removing or demoting `node` that
// answer now, and how many there will be.
std::pair<int, int> ReachableAfter(const tls::Material& tls,
                                   const proto::NodeStatus& view, uint64_t node,
                                   int timeout_ms) {
  int reachable = 0;
  int voters = 0;
  for (const proto::MemberStatus& m : view.members()) {
    if (m.role() != "voter" || m.id() == node) continue;
    ++voters;
    if (FetchStatus(tls, m.address(), timeout_ms).ok()) ++reachable;
  }
  return {reachable, voters};
}

// Why the change is unsafe now, or nullopt.
std::optional<std::string> Risk(const tls::Material& tls,
                                const MembersFlags& flags,
                                const proto::NodeStatus& view,
                                const proto::NodeStatus* target) {
  if (flags.action == "promote") {
    if (target == nullptr) {
      return "node " + std::to_string(flags.node) +
             " does not answer; a voter that is down counts against the "
             "quorum from the moment it is promoted";
    }
    if (target->applied_index() + kCaughtUpSlots < view.chosen_index()) {
      return "node " + std::to_string(flags.node) + " is " +
             std::to_string(view.chosen_index() - target->applied_index()) +
             " slots behind; promoted now, it would slow every write until "
             "it catches up";
    }
    return std::nullopt;
  }
  if (flags.action != "remove" && flags.action != "demote") return std::nullopt;
  auto [reachable, voters] = ReachableAfter(tls, view, flags.node, 2000);
  int quorum = voters / 2 + 1;
  if (reachable < quorum) {
    return "after this change " + std::to_string(voters) +
           " voters remain and only " + std::to_string(reachable) +
           " answer now; the cluster would stop accepting writes until " +
           std::to_string(quorum - reachable) + " more return";
  }
  return std::nullopt;
}

}  // namespace

int RunMembers(const MembersFlags& flags) {
  auto access = AdminAccessFrom(flags.data_dir, flags.peer);
  if (!access.ok()) return Fail(access.status().ToString());
  const tls::Material& tls = access->tls;
  const std::string& peer = access->peer;
  auto view = FetchStatus(tls, peer, 2000);
  if (!view.ok()) {
    return Fail("no answer from " + peer + " (" + view.status().message() +
                "); check the address and that `paxosfs serve` runs there");
  }
  if (flags.action.empty()) return List(tls, *view, 2000);
  proto::MemberChangeRequest request;
  request.set_node(flags.node);
  std::optional<proto::NodeStatus> target;
  if (flags.action == "add") {
    request.set_kind(proto::MemberChangeRequest::ADD_LEARNER);
    request.set_address(flags.address);
  } else {
    std::string address = MemberAddress(*view, flags.node);
    if (address.empty()) {
      return Fail("node " + std::to_string(flags.node) +
                  " is not a member; `paxosfs members --peer " + peer +
                  "` lists them");
    }
    auto s = FetchStatus(tls, address, 2000);
    if (s.ok()) target = *s;
    request.set_kind(
        flags.action == "promote"  ? proto::MemberChangeRequest::PROMOTE
        : flags.action == "demote" ? proto::MemberChangeRequest::DEMOTE
                                   : proto::MemberChangeRequest::REMOVE);
    if (flags.action == "promote" && target) {
      request.set_disk_id(target->disk_id());
    }
  }
  if (auto risk = Risk(tls, flags, *view, target ? &*target : nullptr)) {
    if (!flags.force || (flags.action == "promote" && !target)) {
      return Fail("refused: " + *risk +
                  (flags.action == "promote" && !target
                       ? "; start the node first"
                       : "; add --force to do it anyway"));
    }
    std::fprintf(stderr, "paxosfs members: forced: %s\n", risk->c_str());
  }
  auto reply = ChangeMembershipViaLeader(tls, peer, request, flags.timeout_ms);
  if (!reply.ok()) return Fail(reply.status().ToString());
  std::printf("%s node %" PRIu64 ": done\n", flags.action.c_str(),
              reply->node());
  return 0;
}

}  // namespace paxosfs::cli
