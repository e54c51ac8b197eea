#include "replica/transport/peer_client.h"

#include <algorithm>

#include "common/logging.h"
#include "proto/format.pb.h"
#include "tls/credentials.h"

namespace paxosfs::replica {

// One call of the peer stream. After OnDone it waits in the client's
// `finished_` for a caller's thread to free it.
class PeerClient::Stream final
    : public grpc::ClientWriteReactor<proto::PeerBatch> {
 public:
  Stream(PeerClient* client, std::shared_ptr<grpc::Channel> channel)
      : channel(std::move(channel)), client_(client) {}

  void OnWriteDone(bool ok) override { client_->WriteDone(this, ok); }
  void OnDone(const grpc::Status& status) override {
    client_->StreamDone(this, status);
  }

  const std::shared_ptr<grpc::Channel> channel;  // Outlives the call.
  grpc::ClientContext context;
  proto::PeerAck ack;
  // Guarded by the client's mu_. `batch` is the write in flight, which
  // gRPC reads until OnWriteDone.
  proto::PeerBatch batch;
  size_t batch_messages = 0;
  size_t batch_bytes = 0;
  bool hello_sent = false;
  bool writing = false;
  // The hold keeps OnDone away while a write may still be started from
  // outside a reaction; released once the stream is closing and idle.
  bool held = true;
  bool closing = false;
  bool failed = false;  // Closed by a failed write: log how it ended.

 private:
  PeerClient* const client_;
};

PeerClient::PeerClient(const TransportOptions& options, uint64_t peer_id,
                       std::string address, TransportStats* stats,
                       std::mutex* stats_mu)
    : options_(options),
      peer_id_(peer_id),
      stats_(stats),
      stats_mu_(stats_mu),
      address_(std::move(address)) {}

PeerClient::~PeerClient() {
  Stream* s = nullptr;
  bool release = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    s = DetachLocked(&release);
  }
  if (s != nullptr) Cancel(s, release);
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [this] { return live_streams_ == 0; });
  finished_.clear();
}

bool PeerClient::Enqueue(std::string body) {
  Stream* opened = nullptr;
  Stream* write = nullptr;
  std::vector<std::unique_ptr<Stream>> finished;
  {
    std::lock_guard<std::mutex> lock(mu_);
    finished.swap(finished_);
    if (queue_bytes_ + body.size() > options_.queue_bytes_max) return false;
    queue_bytes_ += body.size();
    queue_.push_back(std::move(body));
    opened = OpenLocked();
    write = TakeBatchLocked();
  }
  // Outside mu_: gRPC may run reactions inline, and they take mu_.
  if (write != nullptr) write->StartWrite(&write->batch);
  if (opened != nullptr) opened->StartCall();
  return true;
}

void PeerClient::Retarget(const std::string& address) {
  Stream* s = nullptr;
  bool release = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (address == address_) return;
    address_ = address;
    retarget_ = true;
    retry_at_ = Clock::time_point();
    s = DetachLocked(&release);
  }
  if (s != nullptr) Cancel(s, release);
}

PeerClient::Stream* PeerClient::OpenLocked() {
  if (stream_ != nullptr || stopping_ || Clock::now() < retry_at_) {
    return nullptr;
  }
  if (!channel_ || retarget_) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
                options_.reconnect_backoff_max_ms);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 2000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 2000);
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    args.SetMaxSendMessageSize(-1);
    // Delivery is best effort and consensus retransmits on its own. With
    // gRPC 1.51's retry filter in the way, a stream cancelled while its
    // connection was still being made never finished (OnDone was never
    // called), and the filter keeps a copy of what it sends for replay.
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    if (!options_.ssl_target_name.empty()) {
      args.SetSslTargetNameOverride(options_.ssl_target_name);
    }
    channel_ = grpc::CreateCustomChannel(
        address_,
        options_.channel_credentials ? options_.channel_credentials
                                     : grpc::InsecureChannelCredentials(),
        args);
    stub_ = proto::Peer::NewStub(channel_);
    retarget_ = false;
  }
  auto* s = new Stream(this, channel_);
  stub_->async()->Stream(&s->context, &s->ack, s);
  s->AddHold();
  stream_ = s;
  ++live_streams_;
  return s;
}

PeerClient::Stream* PeerClient::TakeBatchLocked() {
  Stream* s = stream_;
  if (s == nullptr || s->writing || queue_.empty()) return nullptr;
  proto::PeerBatch& batch = s->batch;
  batch.Clear();
  if (!s->hello_sent) {
    proto::Hello* hello = batch.mutable_hello();
    hello->set_schema_version(proto::CURRENT_SCHEMA);
    hello->set_cluster_id(options_.cluster_id);
    hello->set_node(options_.node_id);
    hello->set_receiver(peer_id_);
    s->hello_sent = true;
  }
  size_t bytes = 0;
  // Always take at least one message, so one larger than a batch still goes.
  while (!queue_.empty() && (bytes == 0 || bytes + queue_.front().size() <=
                                               options_.batch_bytes_max)) {
    proto::PeerMessage* m = batch.add_messages();
    m->set_from(options_.node_id);
    m->set_to(peer_id_);
    bytes += queue_.front().size();
    queue_bytes_ -= queue_.front().size();
    m->set_body(std::move(queue_.front()));
    queue_.pop_front();
  }
  s->batch_messages = batch.messages_size();
  s->batch_bytes = batch.ByteSizeLong();
  s->writing = true;
  return s;
}

bool PeerClient::CloseLocked(Stream* s) {
  s->closing = true;
  if (stream_ == s) stream_ = nullptr;
  if (s->writing || !s->held) return false;
  s->held = false;
  return true;
}

PeerClient::Stream* PeerClient::DetachLocked(bool* release_hold) {
  Stream* s = stream_;
  if (s == nullptr) return nullptr;
  *release_hold = CloseLocked(s);
  return s;
}

void PeerClient::BackoffLocked() {
  backoff_ms_ =
      std::clamp(backoff_ms_ * 2, 20, options_.reconnect_backoff_max_ms);
  retry_at_ = Clock::now() + std::chrono::milliseconds(backoff_ms_);
}

void PeerClient::Cancel(Stream* s, bool release_hold) {
  // `s` stays allocated: only callers free finished streams, and they are
  // serialized with this one.
  s->context.TryCancel();
  if (release_hold) s->RemoveHold();
}

void PeerClient::WriteDone(Stream* s, bool ok) {
  bool release = false;
  Stream* next = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    s->writing = false;
    {
      std::lock_guard<std::mutex> stats_lock(*stats_mu_);
      if (ok) {
        stats_->messages_sent += s->batch_messages;
        stats_->batches_sent += 1;
        stats_->bytes_sent += s->batch_bytes;
      } else {
        stats_->messages_dropped += s->batch_messages;
      }
    }
    if (ok && !s->closing) {
      backoff_ms_ = 0;
      if (warned_) {
        Logf(LogLevel::kInfo, "peer", "stream to node %llu restored",
             static_cast<unsigned long long>(peer_id_));
        warned_ = false;
        last_tls_refusal_.clear();
      }
      next = TakeBatchLocked();
    } else if (!ok && !s->closing) {
      s->failed = true;
      BackoffLocked();
    }
    if (!ok || s->closing) release = CloseLocked(s);
  }
  if (release) s->RemoveHold();
  if (next != nullptr) next->StartWrite(&next->batch);
}

void PeerClient::StreamDone(Stream* s, const grpc::Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  finished_.emplace_back(s);
  if (s->failed && !stopping_) LogEnd(status);
  --live_streams_;
  done_cv_.notify_all();
}

void PeerClient::LogEnd(const grpc::Status& status) {
  // One line per outage, not one per retry; but a certificate refusal is
  // worth a line of its own even mid-outage (a node came back as someone
  // else, e.g. a node of another cluster at this address).
  std::string tls = tls::ExplainTlsFailure(
      static_cast<int>(status.error_code()), status.error_message());
  if (warned_ && (tls.empty() || tls == last_tls_refusal_)) return;
  warned_ = true;
  last_tls_refusal_ = tls;
  if (!tls.empty()) {
    Logf(LogLevel::kWarning, "peer",
         "refused the connection to node %llu at %s: %s; retrying with "
         "backoff",
         static_cast<unsigned long long>(peer_id_), address_.c_str(),
         tls.c_str());
    return;
  }
  Logf(LogLevel::kWarning, "peer",
       "stream to node %llu at %s broke: %s; retrying with backoff",
       static_cast<unsigned long long>(peer_id_), address_.c_str(),
       status.error_message().empty() ? "no detail"
                                      : status.error_message().c_str());
}

}  // namespace paxosfs::replica
