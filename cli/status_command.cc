#include "cli/status_command.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <optional>
#include <vector>

#include "cli/admin_client.h"
#include "cli/input_checks.h"
#include "cli/tls_files.h"

namespace paxosfs::cli {
namespace {

struct Answer {
  uint64_t id = 0;
  std::string address;
  std::string role;
  std::optional<proto::NodeStatus> status;
  std::string error;
};

Answer Ask(const tls::Material& tls, const std::string& address,
           int timeout_ms) {
  Answer a;
  a.address = address;
  auto status = FetchStatus(tls, address, timeout_ms, /*with_digest=*/true);
  if (status.ok()) {
    a.status = *status;
  } else {
    a.error = status.status().message();
  }
  return a;
}

std::string Json(const std::vector<Answer>& answers) {
  std::string out = "{\"nodes\":[";
  for (size_t i = 0; i < answers.size(); ++i) {
    if (i > 0) out += ",";
    const Answer& a = answers[i];
    if (a.status) {
      std::string node;
      google::protobuf::util::JsonPrintOptions options;
      options.always_print_primitive_fields = true;
      options.preserve_proto_field_names = true;
      (void)google::protobuf::util::MessageToJsonString(*a.status, &node,
                                                        options);
      out += node;
    } else {
      out += "{\"node_id\":\"" + std::to_string(a.id) + "\",\"address\":\"" +
             a.address + "\",\"error\":\"unreachable\"}";
    }
  }
  return out + "]}\n";
}

void PrintTable(const proto::NodeStatus& first,
                const std::vector<Answer>& answers, uint64_t chosen_max) {
  std::string leader = first.leader_id() == 0
                           ? "none (election in progress)"
                           : "node " + std::to_string(first.leader_id());
  std::printf("cluster %s, leader: %s\n", first.cluster_id().c_str(),
              leader.c_str());
  std::printf("%-5s %-22s %-8s %-9s %-6s %10s %10s %6s  %s\n", "node",
              "address", "role", "state", "lease", "chosen", "applied", "lag",
              "digest");
  for (const Answer& a : answers) {
    if (!a.status) {
      std::printf("%-5" PRIu64 " %-22s %-8s %-9s %-6s %10s %10s %6s  %s\n",
                  a.id, a.address.c_str(), a.role.c_str(), "down", "-", "-",
                  "-", "-", a.error.c_str());
      continue;
    }
    const proto::NodeStatus& s = *a.status;
    std::printf(
        "%-5" PRIu64 " %-22s %-8s %-9s %-6s %10" PRIu64 " %10" PRIu64
        " %6" PRIu64 "  %016" PRIx64 "\n",
        s.node_id(), a.address.c_str(), a.role.c_str(),
        s.is_leader() ? "leader" : (s.voting() ? "follower" : "learner"),
        s.is_leader() || s.voting() ? (s.lease_valid() ? "held" : "no") : "-",
        s.chosen_index(), s.applied_index(),
        chosen_max - std::min(chosen_max, s.applied_index()), s.digest());
    if (!s.problem().empty()) std::printf("      %s\n", s.problem().c_str());
  }
}

}  // namespace

int RunStatus(const StatusFlags& flags) {
  auto access = AdminAccessFrom(flags.data_dir, flags.peer);
  if (!access.ok()) {
    std::fprintf(stderr, "paxosfs status: %s\n",
                 access.status().ToString().c_str());
    return kExitFailed;
  }
  const tls::Material& tls = access->tls;
  Answer first = Ask(tls, access->peer, flags.timeout_ms);
  if (!first.status) {
    std::fprintf(stderr,
                 "paxosfs status: no answer from %s (%s); check the address "
                 "and that `paxosfs serve` runs there\n",
                 access->peer.c_str(), first.error.c_str());
    return kExitFailed;
  }
  std::vector<Answer> answers;
  bool all = true;
  uint64_t chosen_max = 0;
  for (const proto::MemberStatus& m : first.status->members()) {
    Answer a = m.id() == first.status->node_id()
                   ? first
                   : Ask(tls, m.address(), flags.timeout_ms);
    a.id = m.id();
    a.address = m.address();
    a.role = m.role();
    if (a.status) {
      chosen_max = std::max(chosen_max, a.status->chosen_index());
    } else {
      all = false;
    }
    answers.push_back(std::move(a));
  }
  if (flags.json) {
    std::fputs(Json(answers).c_str(), stdout);
  } else {
    PrintTable(*first.status, answers, chosen_max);
  }
  return all ? kExitOk : kExitPartial;
}

}  // namespace paxosfs::cli
