// The gRPC peer transport: carries the consensus core's encoded messages
// between nodes. It knows nothing of their meaning.
//
// One long-lived client stream per (sender, receiver) pair carries batches
// of messages, so thousands of messages per second cost a few RPC writes.
// Every stream opens with a Hello (schema version, cluster id, sender,
// intended receiver); a receiver refuses peers of another cluster or schema,
// and senders that dialled the wrong node, with a log line saying which.
// With TLS credentials, peers authenticate each other by certificate first
// (tls/credentials.h), and the Hello's sender must match the certificate.
//
// Delivery is best effort: a message may be dropped (queue full, stream
// broken, peer down) and is never retried here. Consensus tolerates loss and
// retransmits what matters on its own timers.
//
// Thread safety: all public methods are thread-safe. The handler runs on
// gRPC threads and must not block (hand the message to a queue).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace grpc {
class ChannelCredentials;
class ServerCredentials;
class Service;
}  // namespace grpc

namespace paxosfs::replica {

struct TransportOptions {
  std::string cluster_id;
  uint64_t node_id = 0;
  std::string listen_address;  // "host:port"; port 0 picks a free port.
  // Per-peer outbound queue bound; messages beyond it are dropped.
  size_t queue_bytes_max = 256 << 20;
  size_t batch_bytes_max = 4 << 20;     // One stream write.
  size_t message_bytes_max = 64 << 20;  // Larger messages are refused.
  int reconnect_backoff_max_ms = 1000;
  // TLS (tls/credentials.h). Null credentials mean plaintext, for tests of
  // the transport alone. With TLS, a peer's stream is accepted only if its
  // client certificate names the node its Hello claims to be (CN=node-N).
  std::shared_ptr<grpc::ServerCredentials> server_credentials;
  std::shared_ptr<grpc::ChannelCredentials> channel_credentials;
  std::string ssl_target_name;  // The name server certificates carry.
};

struct TransportStats {
  uint64_t messages_sent = 0;
  uint64_t messages_received = 0;
  uint64_t messages_dropped = 0;
  uint64_t batches_sent = 0;
  uint64_t bytes_sent = 0;     // Serialized batches, before gRPC framing.
  uint64_t peers_refused = 0;  // Inbound streams refused at Hello.
};

class Transport {
 public:
  // Called for each received message with the sender's node id.
  using Handler = std::function<void(uint64_t from, std::string body)>;

  // Binds the listen address and starts serving the peer service and
  // `extra_services` (not owned; must outlive the transport).
  // Errors: the address cannot be bound (in use, not local, malformed),
  // with a message that names it and says what to change.
  static StatusOr<std::unique_ptr<Transport>> Start(
      TransportOptions options, Handler handler,
      std::vector<grpc::Service*> extra_services = {});

  virtual ~Transport() = default;

  // The port actually bound (useful with port 0).
  virtual int port() const = 0;

  // Adds or re-addresses a peer. Messages queued for its old address go to
  // the new one.
  virtual void SetPeer(uint64_t node_id, const std::string& address) = 0;
  virtual void RemovePeer(uint64_t node_id) = 0;

  // Queues `body` for `to`; never blocks. Returns false if the message was
  // dropped at once (unknown peer, queue full, too large).
  virtual bool Send(uint64_t to, std::string body) = 0;

  virtual TransportStats stats() const = 0;
};

}  // namespace paxosfs::replica
