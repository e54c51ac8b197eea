// One outbound stream to one peer, driven by gRPC's callback API. It has no
// thread of its own: the caller that queues a message starts the stream
// write when none is in flight, and each finished write starts the next
// with whatever queued meanwhile, as one batch. The sender thread per peer
// this replaces cost a wakeup per batch: without it a 4 KiB fsynced write
// takes 6-9 % less CPU over three nodes (bench/RESULTS.md, 2026-12-02
// fifth session). Internal to the transport.
//
// A broken stream is noticed by the write that fails on it (or by its end)
// and reopened by the first message queued after a backoff; consensus
// queues messages every heartbeat, so that is soon enough, and messages
// queued meanwhile wait (best effort: they may also be dropped).
//
// Thread safety: the caller serializes Enqueue, Retarget and the destructor
// (the transport calls them under its lock); reactions run on gRPC's
// threads. None blocks on the network. The destructor cancels the stream and
// waits for gRPC to finish with it, so it must not run on a gRPC thread;
// Enqueue may (a driver answers some messages from the transport's handler).
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

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
  class Stream;
  using Clock = std::chrono::steady_clock;

  // Each requires mu_.
  // A new stream if none is open and the backoff allows; the caller starts
  // it (StartCall) after releasing mu_.
  Stream* OpenLocked();
  // The open stream with its next batch filled, if a write may start now;
  // the caller starts it (StartWrite) after releasing mu_.
  Stream* TakeBatchLocked();
  // Detaches `s` from the client; returns true if the caller must release
  // the stream's hold (no write in flight to do it).
  bool CloseLocked(Stream* s);
  // Closes the open stream, if any, and returns it for Cancel.
  Stream* DetachLocked(bool* release_hold);
  // A stream failed: the next opens only after a backoff.
  void BackoffLocked();

  // Reactions, on gRPC's threads.
  void WriteDone(Stream* s, bool ok);
  void StreamDone(Stream* s, const grpc::Status& status);
  // Cancels `s` (from DetachLocked) outside mu_.
  void Cancel(Stream* s, bool release_hold);
  void LogEnd(const grpc::Status& status);

  const TransportOptions& options_;
  const uint64_t peer_id_;
  TransportStats* const stats_;  // Guarded by *stats_mu_.
  std::mutex* const stats_mu_;

  // Lock order: mu_ before *stats_mu_.
  std::mutex mu_;
  std::condition_variable done_cv_;  // A stream ended (live_streams_ fell).
  std::deque<std::string> queue_;    // Guarded by mu_.
  size_t queue_bytes_ = 0;           // Guarded by mu_.
  std::string address_;              // Guarded by mu_.
  std::shared_ptr<grpc::Channel> channel_;   // Guarded by mu_.
  std::unique_ptr<proto::Peer::Stub> stub_;  // Guarded by mu_.
  bool retarget_ = false;       // Guarded by mu_: rebuild the channel.
  bool stopping_ = false;       // Guarded by mu_.
  Stream* stream_ = nullptr;    // Guarded by mu_: the open one.
  int live_streams_ = 0;        // Guarded by mu_: not yet done.
  Clock::time_point retry_at_;  // Guarded by mu_.
  int backoff_ms_ = 0;          // Guarded by mu_.
  // Ended streams, freed by the next caller rather than in OnDone: freeing a
  // stream may drop the last reference to its channel, and when that is also
  // the last user of gRPC 1.51's shared callback completion queue, it tears
  // the queue down from the very thread serving it (a double free, seen
  // under ASan at transport teardown). The destructor frees what is left on
  // its own thread, before the transport's server (another user) goes.
  std::vector<std::unique_ptr<Stream>> finished_;  // Guarded by mu_.
  bool warned_ = false;           // Guarded by mu_: an outage is logged.
  std::string last_tls_refusal_;  // Guarded by mu_: last logged, or "".
};

}  // namespace paxosfs::replica
