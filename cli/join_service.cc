#include "cli/join_service.h"

#include <fstream>
#include <sstream>

#include "cli/admin_client.h"
#include "cli/input_checks.h"
#include "cli/tls_files.h"
#include "common/clock.h"
#include "common/logging.h"

namespace paxosfs::cli {
namespace {

constexpr int kAdmitTimeoutMs = 60'000;
constexpr size_t kLedgerEntriesMax = 100'000;

int64_t NowUnixSeconds() {
  return SystemClock::Instance().WallNanos() / 1'000'000'000;
}

// One line of DIR/tls/used-tokens: "ID EXPIRY KEY_SHA256 ADDRESS".
struct Redeemed {
  std::string id;
  int64_t expires_unix_s = 0;
  std::string key_hash;
  std::string address;
};

std::vector<Redeemed> ReadLedger(const std::string& path) {
  std::vector<Redeemed> entries;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    Redeemed r;
    if (fields >> r.id >> r.expires_unix_s >> r.key_hash >> r.address) {
      entries.push_back(r);
    }
  }
  return entries;
}

}  // namespace

std::vector<std::string> JoinService::Methods() {
  return {"/paxosfs.proto.Join/GetCa", "/paxosfs.proto.Join/Admit"};
}

grpc::ServerUnaryReactor* JoinService::GetCa(grpc::CallbackServerContext* ctx,
                                             const proto::CaRequest*,
                                             proto::CaReply* reply) {
  reply->set_ca_cert(tls_.ca_pem);
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* JoinService::Admit(grpc::CallbackServerContext* ctx,
                                             const proto::AdmitRequest* request,
                                             proto::AdmitReply* reply) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  std::string peer = ctx->peer();
  workers_.Run(reactor, [this, request, reply, peer] {
    Status s = DoAdmit(*request, reply);
    if (s.ok()) return grpc::Status::OK;
    Logf(LogLevel::kWarning, "join", "refused a join from %s (address %s): %s",
         peer.c_str(), request->address().c_str(), s.message().c_str());
    return ToGrpc(s);
  });
  return reactor;
}

std::string JoinService::IssuerAt(const tls::Token& token) const {
  if (token.issuer == identity_.node_id) return "";
  for (const Member& m : identity_.members) {
    if (m.id == token.issuer) {
      return " (node " + std::to_string(m.id) + ": " + m.address + ")";
    }
  }
  return "";
}

Status JoinService::DoAdmit(const proto::AdmitRequest& request,
                            proto::AdmitReply* reply) {
  auto token = tls::ParseToken(request.token());
  if (!token.ok()) return Status::PermissionDenied(token.status().message());
  auto ca = LoadCa(TlsDir(data_dir_));
  if (!ca.ok()) {
    return Status::InvalidArgument(
        "node " + std::to_string(identity_.node_id) +
        " does not hold the cluster's CA, so it cannot redeem tokens; run "
        "join with --peer set to the address of node " +
        std::to_string(token->issuer) + ", which made this token" +
        IssuerAt(*token));
  }
  Status valid = tls::CheckToken(*token, ca->key_pem, ca->cert_pem,
                                 identity_.node_id, NowUnixSeconds());
  if (!valid.ok()) {
    return Status(valid.code(), valid.message() + IssuerAt(*token));
  }
  Status address = CheckAddress(request.address());
  if (!address.ok()) {
    return Status::InvalidArgument("the joiner's --listen " +
                                   address.message());
  }
  PAXOSFS_RETURN_IF_ERROR(
      Redeem(*token, tls::Sha256Hex(request.public_key()), request.address()));
  proto::MemberChangeRequest change;
  change.set_kind(proto::MemberChangeRequest::ADD_LEARNER);
  change.set_address(request.address());
  auto admitted = ChangeMembershipViaLeader(tls_, identity_.listen, change,
                                            kAdmitTimeoutMs);
  if (!admitted.ok()) {
    return Status::Unavailable("the cluster did not admit " +
                               request.address() + ": " +
                               admitted.status().message());
  }
  auto cert = tls::SignNodeCert(*ca, identity_.cluster_id, admitted->node(),
                                request.public_key());
  if (!cert.ok()) return cert.status();
  reply->set_node(admitted->node());
  reply->set_cluster_id(admitted->cluster_id());
  reply->set_configs(admitted->configs());
  reply->set_node_cert(*cert);
  reply->set_ca_cert(ca->cert_pem);
  Logf(LogLevel::kInfo, "join",
       "admitted node %llu at %s with token %s; signed its certificate",
       static_cast<unsigned long long>(admitted->node()),
       request.address().c_str(), token->id.c_str());
  return Status::Ok();
}

Status JoinService::Redeem(const tls::Token& token, const std::string& key_hash,
                           const std::string& address) {
  std::lock_guard<std::mutex> lock(ledger_mu_);
  const std::string path = TlsDir(data_dir_) + "/used-tokens";
  std::vector<Redeemed> ledger = ReadLedger(path);
  for (const Redeemed& r : ledger) {
    if (r.id != token.id) continue;
    if (r.key_hash == key_hash && r.address == address) {
      return Status::Ok();  // The same joiner, resuming.
    }
    return Status::PermissionDenied(
        "token " + token.id + " was already used (by " + r.address +
        "); a token admits one node: create a new token with `paxosfs token "
        "create --data DIR` on a node that holds the cluster's CA");
  }
  // Entries of expired tokens are no longer needed: expiry refuses those.
  int64_t now = NowUnixSeconds();
  std::erase_if(ledger,
                [now](const Redeemed& r) { return r.expires_unix_s <= now; });
  if (ledger.size() >= kLedgerEntriesMax) {
    return Status::Unavailable(
        "too many unexpired tokens were redeemed on "
        "this node; try again after some expire");
  }
  ledger.push_back({token.id, token.expires_unix_s, key_hash, address});
  std::string text;
  for (const Redeemed& r : ledger) {
    text += r.id + " " + std::to_string(r.expires_unix_s) + " " + r.key_hash +
            " " + r.address + "\n";
  }
  return WriteTlsFile(data_dir_, "used-tokens", text);
}

}  // namespace paxosfs::cli
