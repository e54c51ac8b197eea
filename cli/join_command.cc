#include "cli/join_command.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/data_dir.h"
#include "cli/dir_claim.h"
#include "cli/input_checks.h"
#include "cli/rebuild.h"
#include "cli/tls_files.h"
#include "proto/join.grpc.pb.h"
#include "replica/core/codec.h"
#include "tls/token.h"

namespace paxosfs::cli {
namespace {

// Bounds the search for a leader willing to admit this node.
// The peer itself waits up to 60 s for a leader to admit this node.
constexpr int kAdmitTimeoutMs = 90'000;

int Fail(const std::string& what) {
  std::fprintf(stderr, "paxosfs join: %s\n", what.c_str());
  return kExitFailed;
}

// Said of a join that failed before the cluster could have admitted it.
std::string Removed(const DirClaim* claim, const std::string& dir) {
  return claim == nullptr ? "" : " (nothing was left in " + dir + ")";
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

// This node's private key: made once and kept in DIR/tls/node.key, so a
// join run again after an interruption redeems its token with the same key.
StatusOr<std::string> JoinerKey(const std::string& dir) {
  std::ifstream in(TlsDir(dir) + "/node.key");
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  auto key = tls::NewPrivateKey();
  if (!key.ok()) return key.status();
  PAXOSFS_RETURN_IF_ERROR(CreateTlsDir(dir));
  PAXOSFS_RETURN_IF_ERROR(WriteTlsFile(dir, "node.key", *key));
  return key;
}

// The CA certificate of the cluster at `peer`, trusted only because its
// fingerprint is the token's: the token is sent only to a server that
// then proves a certificate of that CA.
StatusOr<std::string> FetchPinnedCa(const std::string& peer,
                                    const tls::Token& token) {
  grpc::ChannelArguments args;
  tls::SetServerName(&args);
  auto stub = proto::Join::NewStub(
      grpc::CreateCustomChannel(peer, tls::UnverifiedCredentials(), args));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  proto::CaReply reply;
  grpc::Status s = stub->GetCa(&ctx, proto::CaRequest(), &reply);
  if (!s.ok()) {
    return Status::Unavailable("no answer from " + peer + " (" +
                               s.error_message() +
                               "); check --peer and that the node runs");
  }
  auto fingerprint = tls::Fingerprint(reply.ca_cert());
  if (!fingerprint.ok() || *fingerprint != token.ca_fingerprint) {
    return Status::PermissionDenied(
        "the cluster at " + peer + " has another CA than the token's (" +
        (fingerprint.ok() ? fingerprint->substr(0, 16) : "unreadable") +
        "... vs " + token.ca_fingerprint.substr(0, 16) +
        "...): the token was made by another cluster, or --peer is not a "
        "member of the token's cluster; create a token with `paxosfs token "
        "create` on a node of the cluster you join");
  }
  return reply.ca_cert();
}

// Redeems the token at `flags.peer` over TLS verified with `ca`.
StatusOr<proto::AdmitReply> RedeemToken(const JoinFlags& flags,
                                        const std::string& ca,
                                        const std::string& key) {
  auto public_key = tls::PublicKeyOf(key);
  if (!public_key.ok()) return public_key.status();
  grpc::ChannelArguments args;
  tls::SetServerName(&args);
  auto stub = proto::Join::NewStub(grpc::CreateCustomChannel(
      flags.peer, tls::ClientCredentials({ca, "", ""}), args));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(kAdmitTimeoutMs));
  proto::AdmitRequest request;
  request.set_token(flags.token);
  request.set_public_key(*public_key);
  request.set_address(flags.listen);
  proto::AdmitReply reply;
  grpc::Status s = stub->Admit(&ctx, request, &reply);
  if (!s.ok()) {
    // Without an answer the peer may have admitted this node all the same.
    bool answered = s.error_code() != grpc::StatusCode::UNAVAILABLE &&
                    s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED &&
                    s.error_code() != grpc::StatusCode::CANCELLED &&
                    s.error_code() != grpc::StatusCode::UNKNOWN &&
                    s.error_code() != grpc::StatusCode::INTERNAL;
    std::string what =
        "the cluster did not admit this node: " + s.error_message();
    return answered ? Status::PermissionDenied(what)
                    : Status::Unavailable(what);
  }
  Status valid = tls::VerifySignedBy(reply.node_cert(), ca);
  if (valid.ok()) valid = tls::CheckKeyMatches(reply.node_cert(), key);
  if (!valid.ok()) return valid.WithContext("the certificate it signed");
  return reply;
}

// A directory holding a key but no identity is a join that was
// interrupted once its token may have been sent: it resumes with that key.
bool InterruptedJoin(const std::string& dir) {
  std::error_code ec;
  return std::filesystem::exists(TlsDir(dir) + "/node.key", ec);
}

int Admit(const JoinFlags& flags) {
  const std::string& dir = flags.serve.data_dir;
  if (flags.token.empty()) {
    std::fprintf(stderr,
                 "paxosfs join: %s holds no node yet, so give --token TOKEN; "
                 "create one with `paxosfs token create --data DIR` on a "
                 "node that holds the cluster's CA\n",
                 dir.c_str());
    return kExitUsage;
  }
  auto token = tls::ParseToken(flags.token);
  if (!token.ok()) {
    std::fprintf(stderr, "paxosfs join: --token: %s\n",
                 token.status().message().c_str());
    return kExitUsage;
  }
  std::unique_ptr<DirClaim> claim;
  if (!InterruptedJoin(dir)) {
    auto made = DirClaim::Make(dir, "--data");
    if (!made.ok()) return Fail(made.status().message());
    claim = std::move(made).value();
  }
  auto key = JoinerKey(dir);
  if (!key.ok()) return Fail(key.status().ToString());
  auto ca = FetchPinnedCa(flags.peer, *token);
  if (!ca.ok()) return Fail(ca.status().message() + Removed(claim.get(), dir));
  std::fprintf(stderr, "asking the cluster at %s to admit %s as a learner\n",
               flags.peer.c_str(), flags.listen.c_str());
  auto reply = RedeemToken(flags, *ca, *key);
  if (!reply.ok() && reply.status().code() != StatusCode::kUnavailable) {
    return Fail(reply.status().message() + Removed(claim.get(), dir));
  }
  // Admitted, or perhaps: only this key can redeem the token from now on.
  if (claim) claim->Keep();
  if (!reply.ok()) {
    return Fail(reply.status().message() + "; kept " + TlsDir(dir) +
                "/node.key: run the same `paxosfs join` again to resume");
  }
  Status s = WriteTlsFile(dir, "ca.crt", *ca);
  if (s.ok()) s = WriteTlsFile(dir, "node.crt", reply->node_cert());
  if (s.ok()) s = WriteFreshLog(dir, reply->configs()).status();
  if (s.ok()) s = MarkForRebuild(dir, flags.peer);
  Identity id;
  id.cluster_id = reply->cluster_id();
  id.node_id = reply->node();
  id.listen = flags.listen;
  id.members = GenesisMembers(reply->configs());
  if (s.ok()) s = CreateDataDir(dir, id);
  if (!s.ok()) {
    return Fail(s.ToString() +
                "; the node was admitted: run the same `paxosfs join` again "
                "to finish");
  }
  std::fprintf(stderr, "admitted as node %llu of cluster %s\n",
               static_cast<unsigned long long>(id.node_id),
               id.cluster_id.c_str());
  return 0;
}

// A token given to resume a join must be of the cluster the data
// directory already belongs to: else the user meant another directory.
Status SameClusterAsToken(const JoinFlags& flags) {
  if (flags.token.empty()) return Status::Ok();
  auto token = tls::ParseToken(flags.token);
  if (!token.ok()) return token.status().WithContext("--token");
  auto tls = LoadNodeTls(flags.serve.data_dir);
  if (!tls.ok()) return tls.status();
  auto fingerprint = tls::Fingerprint(tls->ca_pem);
  if (fingerprint.ok() && *fingerprint == token->ca_fingerprint) {
    return Status::Ok();
  }
  return Status::InvalidArgument(
      flags.serve.data_dir +
      " already holds a node of another cluster than the token's; give "
      "--data a new or empty directory to join with");
}

}  // namespace

int RunJoin(const JoinFlags& flags) {
  auto existing = ReadIdentity(flags.serve.data_dir);
  if (existing.ok()) {
    if (Status same = SameClusterAsToken(flags); !same.ok()) {
      return Fail(same.message());
    }
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
  } else if (Status mount = CheckMountFlags(flags.serve); !mount.ok()) {
    return Fail(mount.message());  // Before the cluster admits this node.
  } else if (int rc = Admit(flags); rc != 0) {
    return rc;
  }
  return RunServe(flags.serve);
}

}  // namespace paxosfs::cli
