#include "cli/join_command.h"

#include <cstdio>
#include <filesystem>
#include <random>

#include "cli/admin_client.h"
#include "cli/data_dir.h"
#include "cli/rebuild.h"
#include "log/file_log.h"
#include "replica/core/codec.h"

namespace paxosfs::cli {
namespace {

// Bounds the search for a leader willing to admit this node.
constexpr int kAdmitTimeoutMs = 60'000;

int Fail(const std::string& what) {
  std::fprintf(stderr, "paxosfs join: %s\n", what.c_str());
  return 1;
}

// A fresh acceptor identity for this disk: it votes only once a
// configuration lists it (after `--voter` or `members promote`).
uint64_t NewDiskId() {
  std::random_device random;
  uint64_t id = 0;
  while (id == 0) id = (uint64_t{random()} << 32) ^ random();
  return id;
}

Status WriteJoinLog(const std::string& dir, const std::string& configs) {
  auto history = replica::DecodeMetadata(configs);
  if (!history.ok()) return history.status().WithContext("the leader's reply");
  replica::Metadata meta;
  meta.disk_id = NewDiskId();
  meta.configs = std::move(history->configs);
  auto log = log::OpenFileLog(log::PosixEnv(), LogDir(dir));
  if (!log.ok()) return log.status();
  PAXOSFS_RETURN_IF_ERROR((*log)->SetMetadata(replica::EncodeMetadata(meta)));
  return (*log)->Sync();
}

// The cluster's initial voters, as `init` recorded them on every founder.
std::vector<Member> GenesisMembers(const std::string& configs) {
  std::vector<Member> members;
  auto history = replica::DecodeMetadata(configs);
  if (!history.ok() || history->configs.empty()) return members;
  const replica::Config& genesis = history->configs.front().second;
  for (const replica::Voter& v : genesis.voters) {
    auto it = genesis.addresses.find(v.node);
    members.push_back(
        {v.node, it == genesis.addresses.end() ? "" : it->second});
  }
  return members;
}

int Admit(const JoinFlags& flags) {
  const std::string& dir = flags.serve.data_dir;
  std::fprintf(stderr, "asking the cluster at %s to admit %s as a learner\n",
               flags.peer.c_str(), flags.listen.c_str());
  proto::MemberChangeRequest request;
  request.set_kind(proto::MemberChangeRequest::ADD_LEARNER);
  request.set_address(flags.listen);
  auto reply = ChangeMembershipViaLeader(flags.peer, request, kAdmitTimeoutMs);
  if (!reply.ok()) {
    return Fail(
        "the cluster did not admit this node: " + reply.status().ToString() +
        "; check --peer and that a majority of voters runs");
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Fail("cannot create " + dir + ": " + ec.message());
  Status s = WriteJoinLog(dir, reply->configs());
  if (s.ok()) s = MarkForRebuild(dir, flags.peer);
  Identity id;
  id.cluster_id = reply->cluster_id();
  id.node_id = reply->node();
  id.listen = flags.listen;
  id.members = GenesisMembers(reply->configs());
  if (s.ok()) s = CreateDataDir(dir, id);
  if (!s.ok()) return Fail(s.ToString());
  std::fprintf(stderr, "admitted as node %llu of cluster %s\n",
               static_cast<unsigned long long>(id.node_id),
               id.cluster_id.c_str());
  return 0;
}

}  // namespace

int RunJoin(const JoinFlags& flags) {
  auto existing = ReadIdentity(flags.serve.data_dir);
  if (existing.ok()) {
    if (existing->listen != flags.listen) {
      return Fail(flags.serve.data_dir + " belongs to node " +
                  std::to_string(existing->node_id) + " listening on " +
                  existing->listen + ", not " + flags.listen +
                  "; use that --listen, or another --data directory");
    }
    std::fprintf(stderr, "%s is node %llu of cluster %s; %s\n",
                 flags.serve.data_dir.c_str(),
                 static_cast<unsigned long long>(existing->node_id),
                 existing->cluster_id.c_str(),
                 RebuildDue(flags.serve.data_dir) ? "resuming its snapshot"
                                                  : "already joined, serving");
  } else if (existing.status().code() != StatusCode::kNotFound) {
    return Fail(existing.status().ToString());
  } else if (int rc = Admit(flags); rc != 0) {
    return rc;
  }
  return RunServe(flags.serve);
}

}  // namespace paxosfs::cli
