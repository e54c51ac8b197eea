#include "replica/transport/peer_client.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>

#include "common/logging.h"
#include "proto/format.pb.h"
#include "tls/credentials.h"

namespace paxosfs::replica {

PeerClient::PeerClient(const TransportOptions& options, uint64_t peer_id,
                       std::string address, TransportStats* stats,
                       std::mutex* stats_mu)
    : options_(options),
      peer_id_(peer_id),
      stats_(stats),
      stats_mu_(stats_mu),
      address_(std::move(address)) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "peer-sender");
    Run();
  });
}

PeerClient::~PeerClient() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    // A blocked stream write returns once its context is cancelled.
    if (live_context_ != nullptr) live_context_->TryCancel();
  }
  cv_.notify_all();
  thread_.join();
}

bool PeerClient::Enqueue(std::string body) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_bytes_ + body.size() > options_.queue_bytes_max) return false;
    queue_bytes_ += body.size();
    queue_.push_back(std::move(body));
  }
  cv_.notify_one();
  return true;
}

void PeerClient::Retarget(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  if (address == address_) return;
  address_ = address;
  retarget_ = true;
  if (live_context_ != nullptr) live_context_->TryCancel();
}

bool PeerClient::WaitForWork() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
  return !stopping_;
}

void PeerClient::FillBatch(proto::PeerBatch* batch) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t bytes = 0;
  // Always take at least one message, so one larger than a batch still goes.
  while (!queue_.empty() && (bytes == 0 || bytes + queue_.front().size() <=
                                               options_.batch_bytes_max)) {
    proto::PeerMessage* m = batch->add_messages();
    m->set_from(options_.node_id);
    m->set_to(peer_id_);
    bytes += queue_.front().size();
    queue_bytes_ -= queue_.front().size();
    m->set_body(std::move(queue_.front()));
    queue_.pop_front();
  }
}

bool PeerClient::EnsureStream() {
  std::string address;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;
    if (retarget_) {
      channel_.reset();
      retarget_ = false;
    }
    address = address_;
  }
  if (writer_) return true;
  if (!channel_) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
                options_.reconnect_backoff_max_ms);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 2000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 2000);
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    args.SetMaxSendMessageSize(-1);
    if (!options_.ssl_target_name.empty()) {
      args.SetSslTargetNameOverride(options_.ssl_target_name);
    }
    channel_ = grpc::CreateCustomChannel(
        address,
        options_.channel_credentials ? options_.channel_credentials
                                     : grpc::InsecureChannelCredentials(),
        args);
    stub_ = proto::Peer::NewStub(channel_);
  }
  context_ = std::make_unique<grpc::ClientContext>();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;
    live_context_ = context_.get();
  }
  writer_ = stub_->Stream(context_.get(), &ack_);
  return true;
}

void PeerClient::CloseStream(const char* why) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    live_context_ = nullptr;
  }
  if (!writer_) return;
  writer_->WritesDone();
  grpc::Status status = writer_->Finish();
  writer_.reset();
  context_.reset();
  bool stopping;
  std::string address;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping = stopping_;
    address = address_;
  }
  // One line per outage, not one per retry; but a certificate refusal is
  // worth a line of its own even mid-outage (a node came back as someone
  // else, e.g. a node of another cluster at this address).
  std::string tls = tls::ExplainTlsFailure(
      static_cast<int>(status.error_code()), status.error_message());
  if (stopping || (warned_ && (tls.empty() || tls == last_tls_refusal_))) {
    return;
  }
  warned_ = true;
  last_tls_refusal_ = tls;
  if (!tls.empty()) {
    Logf(LogLevel::kWarning, "peer",
         "refused the connection to node %llu at %s: %s; retrying with "
         "backoff",
         static_cast<unsigned long long>(peer_id_), address.c_str(),
         tls.c_str());
    return;
  }
  Logf(LogLevel::kWarning, "peer",
       "stream to node %llu at %s broke (%s): %s; retrying with backoff",
       static_cast<unsigned long long>(peer_id_), address.c_str(), why,
       status.error_message().empty() ? "no detail"
                                      : status.error_message().c_str());
}

void PeerClient::Backoff() {
  backoff_ms_ =
      std::clamp(backoff_ms_ * 2, 20, options_.reconnect_backoff_max_ms);
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(backoff_ms_),
               [this] { return stopping_ || retarget_; });
}

void PeerClient::Run() {
  bool hello_sent = false;
  while (WaitForWork()) {
    if (!EnsureStream()) break;
    proto::PeerBatch batch;
    if (!hello_sent) {
      proto::Hello* hello = batch.mutable_hello();
      hello->set_schema_version(proto::CURRENT_SCHEMA);
      hello->set_cluster_id(options_.cluster_id);
      hello->set_node(options_.node_id);
      hello->set_receiver(peer_id_);
    }
    FillBatch(&batch);
    size_t count = batch.messages_size();
    size_t bytes = batch.ByteSizeLong();
    if (writer_->Write(batch)) {
      hello_sent = true;
      backoff_ms_ = 0;
      if (warned_) {
        Logf(LogLevel::kInfo, "peer", "stream to node %llu restored",
             static_cast<unsigned long long>(peer_id_));
        warned_ = false;
        last_tls_refusal_.clear();
      }
      std::lock_guard<std::mutex> lock(*stats_mu_);
      stats_->messages_sent += count;
      stats_->batches_sent += 1;
      stats_->bytes_sent += bytes;
      continue;
    }
    CloseStream("write failed");
    hello_sent = false;
    {
      std::lock_guard<std::mutex> lock(*stats_mu_);
      stats_->messages_dropped += count;
    }
    Backoff();
  }
  CloseStream("shutting down");
}

}  // namespace paxosfs::replica
