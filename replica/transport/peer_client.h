// One outbound stream to one peer: a bounded queue drained by a dedicated
// sender thread into batched stream writes. Internal to the transport.
//
// Thread safety: Enqueue and Retarget are thread-safe; the destructor stops
// the sender thread and must not race with other calls.
#pragma once

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "proto/paxos.grpc.pb.h"
#include "replica/transport/peer_transport.h"

namespace paxosfs::replica {

class PeerClient {
 public:
  PeerClient(const TransportOptions& options, uint64_t peer_id,
             std::string address, TransportStats* stats, std::mutex* stats_mu);
  ~PeerClient();
  PeerClient(const PeerClient&) = delete;
  PeerClient& operator=(const PeerClient&) = delete;

  // Returns false if the queue is full.
  bool Enqueue(std::string body);
  void Retarget(const std::string& address);

 private:
  void Run();
  // Waits for queued messages; returns false when stopping.
  bool WaitForWork();
  void FillBatch(proto::PeerBatch* batch);
  bool EnsureStream();
  void CloseStream(const char* why);
  void Backoff();

  const TransportOptions& options_;
  const uint64_t peer_id_;
  TransportStats* const stats_;  // Guarded by *stats_mu_.
  std::mutex* const stats_mu_;

  // Lock order: mu_ before *stats_mu_.
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;                // Guarded by mu_.
  size_t queue_bytes_ = 0;                       // Guarded by mu_.
  std::string address_;                          // Guarded by mu_.
  bool retarget_ = false;                        // Guarded by mu_.
  bool stopping_ = false;                        // Guarded by mu_.
  grpc::ClientContext* live_context_ = nullptr;  // Guarded by mu_.

  // Owned by the sender thread.
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<proto::Peer::Stub> stub_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientWriter<proto::PeerBatch>> writer_;
  proto::PeerAck ack_;
  int backoff_ms_ = 0;
  bool warned_ = false;
  std::string last_tls_refusal_;  // The last TLS failure logged, or "".

  std::thread thread_;
};

}  // namespace paxosfs::replica
