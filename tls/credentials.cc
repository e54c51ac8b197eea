#include "tls/credentials.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/auth_metadata_processor.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>

#include "common/logging.h"
#include "tls/certs.h"

namespace paxosfs::tls {
namespace {

constexpr auto kLogEvery = std::chrono::seconds(10);

class ClusterAuth final : public grpc::AuthMetadataProcessor {
 public:
  explicit ClusterAuth(ServerPolicy policy) : policy_(std::move(policy)) {}

  // The check is a map lookup and a PEM parse: cheap enough to run inline.
  bool IsBlocking() const override { return false; }

  grpc::Status Process(const InputMetadata& metadata,
                       grpc::AuthContext* context, OutputMetadata*,
                       OutputMetadata*) override {
    std::string method;
    auto path = metadata.find(":path");
    if (path != metadata.end()) {
      method.assign(path->second.data(), path->second.size());
    }
    if (std::find(policy_.open_methods.begin(), policy_.open_methods.end(),
                  method) != policy_.open_methods.end()) {
      return grpc::Status::OK;
    }
    std::string refusal = Check(*context);
    if (refusal.empty()) return grpc::Status::OK;
    LogRefusal(method, refusal);
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "refused by this node: " + refusal);
  }

 private:
  // Why the caller is refused, or "".
  std::string Check(const grpc::AuthContext& context) const {
    std::vector<grpc::string_ref> pem =
        context.FindPropertyValues("x509_pem_cert");
    if (pem.empty()) {
      return "the caller presented no client certificate; admin commands "
             "need --data DIR of a node of this cluster (its tls/ files)";
    }
    auto info = ParseNodeCert(std::string(pem[0].data(), pem[0].size()));
    if (!info.ok()) return "unreadable client certificate";
    if (info->cluster_id != policy_.cluster_id) {
      return "the client certificate is of cluster '" + info->cluster_id +
             "', this node's cluster is '" + policy_.cluster_id + "'";
    }
    if (info->node_id == 0) {
      return "the client certificate (CN=" + info->common_name +
             ") is not a node's";
    }
    if (policy_.removed && policy_.removed(info->node_id)) {
      return "node " + std::to_string(info->node_id) +
             " was removed from the cluster; its certificate is no longer "
             "accepted (wipe it and join again with a new token)";
    }
    return "";
  }

  void LogRefusal(const std::string& method, const std::string& refusal) {
    auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto [it, fresh] = last_logged_.try_emplace(refusal, now);
      if (!fresh && now - it->second < kLogEvery) return;
      it->second = now;
      if (last_logged_.size() > 64) last_logged_.clear();
    }
    Logf(LogLevel::kWarning, "tls", "refused a call to %s: %s",
         method.empty() ? "(unknown method)" : method.c_str(), refusal.c_str());
  }

  const ServerPolicy policy_;
  std::mutex mu_;  // A leaf.
  std::map<std::string, std::chrono::steady_clock::time_point>
      last_logged_;  // Guarded by mu_; bounded by the clear above.
};

}  // namespace

std::shared_ptr<grpc::ServerCredentials> ServerCredentials(
    const Material& material, ServerPolicy policy) {
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = material.ca_pem;
  options.pem_key_cert_pairs.push_back({material.key_pem, material.cert_pem});
  std::shared_ptr<grpc::ServerCredentials> credentials =
      grpc::SslServerCredentials(options);
  credentials->SetAuthMetadataProcessor(
      std::make_shared<ClusterAuth>(std::move(policy)));
  return credentials;
}

std::shared_ptr<grpc::ChannelCredentials> ClientCredentials(
    const Material& material) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = material.ca_pem;
  options.pem_private_key = material.key_pem;
  options.pem_cert_chain = material.cert_pem;
  return grpc::SslCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> UnverifiedCredentials() {
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_verify_server_certs(false);
  options.set_check_call_host(false);
  options.set_certificate_verifier(
      std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  return grpc::experimental::TlsCredentials(options);
}

void SetServerName(grpc::ChannelArguments* args) {
  args->SetSslTargetNameOverride(kServerName);
}

std::string ExplainTlsFailure(int grpc_code, const std::string& message) {
  if (grpc_code == static_cast<int>(grpc::StatusCode::UNAUTHENTICATED)) {
    return message;
  }
  std::string lower = message;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  // Only certificate failures: a handshake cut short by a peer that is
  // stopping is an outage to retry, not a refusal.
  if (lower.find("certificate") != std::string::npos ||
      lower.find("unknown ca") != std::string::npos) {
    return "the TLS handshake failed: the peer's certificate is not signed "
           "by this cluster's CA (a node of another cluster, or the wrong "
           "address), or this side's was refused (" +
           message + ")";
  }
  return "";
}

}  // namespace paxosfs::tls
