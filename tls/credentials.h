// gRPC credentials for mutual TLS between the members of one cluster.
//
// Server side (ServerCredentials): TLS with this node's certificate; a
// client certificate is requested and, when presented, verified against
// the cluster's CA during the handshake (a certificate of another CA fails
// it). Every call is then checked by an auth metadata processor: unless
// its method is one of `open_methods` (the join service, which a new node
// calls before it has a certificate), the caller must present a node
// certificate of this cluster (O = cluster id, CN = node-<id>) whose node
// is not known to be removed. Refusals are UNAUTHENTICATED with the reason,
// and logged (one line per reason every 10 s, so a retrying peer does not
// flood the log).
//
// Client side: ClientCredentials verifies the server against the CA and
// presents the node's certificate (or none, for a joiner); every channel
// must set the server name with SetServerName, since peers are dialled by
// address and certificates name kServerName.
//
// Thread safety: the returned credentials are immutable and shareable.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace grpc {
class ChannelArguments;
class ChannelCredentials;
class ServerCredentials;
}  // namespace grpc

namespace paxosfs::tls {

// PEM texts of a node's TLS material. A joiner has only ca_pem.
struct Material {
  std::string ca_pem;
  std::string cert_pem;
  std::string key_pem;
};

struct ServerPolicy {
  std::string cluster_id;
  // Full method paths ("/package.Service/Method") served without a client
  // certificate.
  std::vector<std::string> open_methods;
  // Optional: true for a node id that was removed from the cluster; its
  // certificate is still valid (there is no revocation list) but it is
  // refused. Called on gRPC threads for each call; must not block.
  std::function<bool(uint64_t node)> removed;
};

std::shared_ptr<grpc::ServerCredentials> ServerCredentials(
    const Material& material, ServerPolicy policy);

std::shared_ptr<grpc::ChannelCredentials> ClientCredentials(
    const Material& material);

// Accepts any server certificate. Only for fetching a CA certificate whose
// fingerprint the caller checks against a pinned one before trusting it.
std::shared_ptr<grpc::ChannelCredentials> UnverifiedCredentials();

// Makes the channel verify the server's certificate against kServerName.
void SetServerName(grpc::ChannelArguments* args);

// A client-facing explanation for a failed call, or "" if the failure is
// not about TLS: a failed handshake (the server's certificate is not of
// this cluster's CA) or a refusal by the server's processor.
std::string ExplainTlsFailure(int grpc_code, const std::string& message);

}  // namespace paxosfs::tls
