// The join service (proto/join.proto), served next to the peer and admin
// services and the only one open to callers without a certificate.
//
// GetCa hands out the CA certificate (public; the joiner checks it against
// its token's fingerprint). Admit redeems a join token at the node that
// created it: it checks the token (tls/token.h), records its id as used in
// DIR/tls/used-tokens (durably, before anything else happens), asks the
// leader to admit the joiner's address as a learner (with this node's own
// certificate) and signs the joiner's public key as node-<new id>. The CA
// key never leaves this node.
//
// Replay: a token admits one joiner. Using it again with the same public
// key and address (a join that was interrupted and is run again) admits
// and signs again, which gives nothing to anyone else: the certificate is
// useless without that joiner's private key. Any other use is refused.
//
// Every refusal is logged here ("refused a join ...") and returned to the
// joiner as PERMISSION_DENIED (FAILED_PRECONDITION if this node holds no
// CA) with what to do.
//
// Thread safety: gRPC calls it from its threads; Admit runs on a worker
// thread of its own. Destroy it after the gRPC server has shut down.
#pragma once

#include <mutex>
#include <string>

#include "cli/data_dir.h"
#include "cli/reactor_workers.h"
#include "common/status.h"
#include "proto/join.grpc.pb.h"
#include "tls/credentials.h"
#include "tls/token.h"

namespace paxosfs::cli {

class JoinService final : public proto::Join::CallbackService {
 public:
  // `tls` is this node's material: it is how this node asks the leader.
  JoinService(const Identity& identity, std::string data_dir, tls::Material tls)
      : identity_(identity),
        data_dir_(std::move(data_dir)),
        tls_(std::move(tls)) {}

  // The full method names, for tls::ServerPolicy::open_methods.
  static std::vector<std::string> Methods();

  grpc::ServerUnaryReactor* GetCa(grpc::CallbackServerContext* context,
                                  const proto::CaRequest* request,
                                  proto::CaReply* reply) override;
  grpc::ServerUnaryReactor* Admit(grpc::CallbackServerContext* context,
                                  const proto::AdmitRequest* request,
                                  proto::AdmitReply* reply) override;

 private:
  Status DoAdmit(const proto::AdmitRequest& request, proto::AdmitReply* reply);
  // " (node N: ADDRESS)" for a token made by another founder, or "".
  std::string IssuerAt(const tls::Token& token) const;
  // Records `token` as used by (key, address), or refuses a replay.
  // True when the same joiner (key and address) redeemed it before.
  StatusOr<bool> Redeem(const tls::Token& token, const std::string& key_hash,
                        const std::string& address);

  const Identity identity_;
  const std::string data_dir_;
  const tls::Material tls_;
  std::mutex ledger_mu_;    // A leaf; serializes DIR/tls/used-tokens.
  ReactorWorkers workers_;  // Last: joined first on destruction.
};

}  // namespace paxosfs::cli
