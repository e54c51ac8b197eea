#include "replica/transport/peer_transport.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <map>
#include <mutex>

#include "common/logging.h"
#include "proto/format.pb.h"
#include "proto/paxos.grpc.pb.h"
#include "replica/transport/peer_client.h"

namespace paxosfs::replica {
namespace {

// Why an inbound stream's Hello is refused, or "" if it is acceptable.
std::string CheckHello(const proto::Hello& hello, const TransportOptions& o) {
  if (hello.schema_version() != proto::CURRENT_SCHEMA) {
    return "peer speaks schema " + std::to_string(hello.schema_version()) +
           ", this node schema " + std::to_string(proto::CURRENT_SCHEMA) +
           "; run the same paxosfs version on every node";
  }
  if (hello.cluster_id() != o.cluster_id) {
    return "peer node " + std::to_string(hello.node()) +
           " belongs to cluster '" + hello.cluster_id() +
           "', this node to cluster '" + o.cluster_id +
           "'; check the peer addresses in its configuration";
  }
  if (hello.receiver() != o.node_id) {
    return "peer node " + std::to_string(hello.node()) +
           " dialled this address expecting node " +
           std::to_string(hello.receiver()) + ", but this is node " +
           std::to_string(o.node_id) + "; fix the address it has for node " +
           std::to_string(hello.receiver());
  }
  return "";
}

// With TLS, why the certificate of `context`'s caller does not name node
// `claimed`, or "". Without TLS there is no certificate to compare.
std::string CheckCertificate(const grpc::CallbackServerContext& context,
                             uint64_t claimed) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (!auth || !auth->IsPeerAuthenticated()) return "";
  std::vector<grpc::string_ref> cn =
      auth->FindPropertyValues("x509_common_name");
  std::string name = cn.empty() ? "" : std::string(cn[0].data(), cn[0].size());
  if (name == "node-" + std::to_string(claimed)) return "";
  return "peer says it is node " + std::to_string(claimed) +
         " but its certificate is " + (name.empty() ? "unnamed" : name) +
         "'s; a node may only speak as itself";
}

class TransportImpl;

// Receives one peer's stream: validates the Hello on the first batch, then
// hands each message to the handler and reads the next batch.
class InboundStream final : public grpc::ServerReadReactor<proto::PeerBatch> {
 public:
  InboundStream(TransportImpl* transport, grpc::CallbackServerContext* context);
  void OnReadDone(bool ok) override;
  void OnDone() override { delete this; }

 private:
  TransportImpl* const transport_;
  grpc::CallbackServerContext* const context_;
  const std::string peer_uri_;
  proto::PeerBatch batch_;
  bool greeted_ = false;
  uint64_t from_ = 0;
};

class PeerService final : public proto::Peer::CallbackService {
 public:
  explicit PeerService(TransportImpl* transport) : transport_(transport) {}
  grpc::ServerReadReactor<proto::PeerBatch>* Stream(
      grpc::CallbackServerContext* context, proto::PeerAck*) override {
    return new InboundStream(transport_, context);
  }

 private:
  TransportImpl* const transport_;
};

class TransportImpl final : public Transport {
 public:
  TransportImpl(TransportOptions options, Handler handler)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        service_(this) {}

  ~TransportImpl() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      peers_.clear();
    }
    // Peer streams never end on their own; cancel them instead of waiting.
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
  }

  Status Listen(std::vector<grpc::Service*> extra_services) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort(options_.listen_address,
                             options_.server_credentials
                                 ? options_.server_credentials
                                 : grpc::InsecureServerCredentials(),
                             &port);
    // Without this a second node could silently share the port.
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    // Peers keep idle streams alive with pings every 2 s; without these the
    // server calls that abuse ("too_many_pings") and drops the stream.
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    builder.AddChannelArgument(
        GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 1000);
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
    builder.SetMaxReceiveMessageSize(
        static_cast<int>(options_.message_bytes_max + (1 << 20)));
    builder.RegisterService(&service_);
    for (grpc::Service* s : extra_services) builder.RegisterService(s);
    server_ = builder.BuildAndStart();
    if (!server_ || port == 0) {
      return Status::Unavailable(
          "cannot listen on " + options_.listen_address +
          ": the address is in use, not an address of this host, or "
          "malformed; choose another --listen HOST:PORT");
    }
    port_ = port;
    return Status::Ok();
  }

  int port() const override { return port_; }

  void SetPeer(uint64_t node_id, const std::string& address) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = peers_.find(node_id);
    if (it != peers_.end()) {
      it->second->Retarget(address);
      return;
    }
    peers_.emplace(node_id,
                   std::make_unique<PeerClient>(options_, node_id, address,
                                                &stats_, &stats_mu_));
  }

  void RemovePeer(uint64_t node_id) override {
    std::unique_ptr<PeerClient> removed;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = peers_.find(node_id);
      if (it == peers_.end()) return;
      removed = std::move(it->second);
      peers_.erase(it);
    }
    // Joins the sender thread outside mu_.
  }

  bool Send(uint64_t to, std::string body) override {
    bool queued = false;
    if (body.size() <= options_.message_bytes_max) {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = peers_.find(to);
      if (it != peers_.end()) queued = it->second->Enqueue(std::move(body));
    }
    if (!queued) {
      std::lock_guard<std::mutex> lock(stats_mu_);
      stats_.messages_dropped += 1;
    }
    return queued;
  }

  TransportStats stats() const override {
    std::lock_guard<std::mutex> lock(stats_mu_);
    return stats_;
  }

  const TransportOptions& options() const { return options_; }

  void Deliver(uint64_t from, std::string body) {
    {
      std::lock_guard<std::mutex> lock(stats_mu_);
      stats_.messages_received += 1;
    }
    handler_(from, std::move(body));
  }

  void CountRefused() {
    std::lock_guard<std::mutex> lock(stats_mu_);
    stats_.peers_refused += 1;
  }

 private:
  const TransportOptions options_;
  const Handler handler_;
  PeerService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;

  // Lock order: mu_ before stats_mu_ (PeerClient takes stats_mu_ alone).
  std::mutex mu_;
  std::map<uint64_t, std::unique_ptr<PeerClient>> peers_;  // Guarded by mu_.
  mutable std::mutex stats_mu_;
  TransportStats stats_;  // Guarded by stats_mu_.
};

InboundStream::InboundStream(TransportImpl* transport,
                             grpc::CallbackServerContext* context)
    : transport_(transport), context_(context), peer_uri_(context->peer()) {
  StartRead(&batch_);
}

void InboundStream::OnReadDone(bool ok) {
  if (!ok) {
    Finish(grpc::Status::OK);
    return;
  }
  if (!greeted_) {
    std::string refusal =
        batch_.has_hello() ? CheckHello(batch_.hello(), transport_->options())
                           : "stream did not open with a Hello";
    if (refusal.empty()) {
      refusal = CheckCertificate(*context_, batch_.hello().node());
    }
    if (!refusal.empty()) {
      Logf(LogLevel::kWarning, "peer", "refused stream from %s: %s",
           peer_uri_.c_str(), refusal.c_str());
      transport_->CountRefused();
      Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, refusal));
      return;
    }
    greeted_ = true;
    from_ = batch_.hello().node();
  }
  for (proto::PeerMessage& m : *batch_.mutable_messages()) {
    transport_->Deliver(from_, std::move(*m.mutable_body()));
  }
  batch_.Clear();
  StartRead(&batch_);
}

}  // namespace

StatusOr<std::unique_ptr<Transport>> Transport::Start(
    TransportOptions options, Handler handler,
    std::vector<grpc::Service*> extra_services) {
  auto transport =
      std::make_unique<TransportImpl>(std::move(options), std::move(handler));
  PAXOSFS_RETURN_IF_ERROR(transport->Listen(std::move(extra_services)));
  return std::unique_ptr<Transport>(std::move(transport));
}

}  // namespace paxosfs::replica
