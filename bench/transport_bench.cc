// The cost of mutual TLS on the peer transport: two transports on loopback,
// first in plaintext, then with the cluster's TLS credentials, in one run.
// Prints bulk throughput (64 KiB messages, as log entries with data) and
// ping-pong round trips of small messages (as consensus messages), and the
// ratios TLS / plaintext.
//
// Usage: transport_bench [MIB] [ROUND_TRIPS]   (defaults 256 and 2000)
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "replica/transport/peer_transport.h"
#include "tls/certs.h"
#include "tls/credentials.h"

namespace {

using paxosfs::replica::Transport;
using paxosfs::replica::TransportOptions;
using Clock = std::chrono::steady_clock;

struct Counter {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t n = 0;
  Clock::time_point last;  // Of the latest arrival.
  void Add() {
    std::lock_guard<std::mutex> lock(mu);
    ++n;
    last = Clock::now();
    cv.notify_all();
  }
  // False after `timeout` without reaching `want`.
  bool WaitFor(uint64_t want,
               std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, timeout, [&] { return n >= want; });
  }
};

TransportOptions Options(uint64_t id, bool tls, const paxosfs::tls::Ca& ca) {
  TransportOptions o;
  o.cluster_id = "bench";
  o.node_id = id;
  o.listen_address = "127.0.0.1:0";
  if (tls) {
    paxosfs::tls::Material m;
    m.ca_pem = ca.cert_pem;
    m.key_pem = paxosfs::tls::NewPrivateKey().value();
    m.cert_pem =
        paxosfs::tls::SignNodeCert(ca, "bench", id,
                                   paxosfs::tls::PublicKeyOf(m.key_pem).value())
            .value();
    paxosfs::tls::ServerPolicy policy;
    policy.cluster_id = "bench";
    o.server_credentials = paxosfs::tls::ServerCredentials(m, policy);
    o.channel_credentials = paxosfs::tls::ClientCredentials(m);
    o.ssl_target_name = paxosfs::tls::kServerName;
  }
  return o;
}

struct Result {
  double mib_per_s = 0;
  double rtt_us = 0;
};

bool RunOnce(bool tls, int mib, int round_trips, Result* out) {
  paxosfs::tls::Ca ca = paxosfs::tls::NewCa("bench").value();
  Counter at_b, at_a;
  Transport* b_ptr = nullptr;
  auto a = Transport::Start(Options(1, tls, ca),
                            [&](uint64_t, std::string) { at_a.Add(); });
  auto b = Transport::Start(Options(2, tls, ca),
                            [&](uint64_t from, std::string body) {
                              at_b.Add();
                              // Small messages bounce back: a round trip.
                              if (body.size() < 1024) b_ptr->Send(from, body);
                            });
  if (!a.ok() || !b.ok()) return false;
  b_ptr = b->get();
  (*a)->SetPeer(2, "127.0.0.1:" + std::to_string((*b)->port()));
  (*b)->SetPeer(1, "127.0.0.1:" + std::to_string((*a)->port()));
  // Warm up: connect both ways.
  (*a)->Send(2, "warm");
  if (!at_a.WaitFor(1)) return false;

  const std::string chunk(64 << 10, 'x');
  const uint64_t count = static_cast<uint64_t>(mib) * 16;
  auto start = Clock::now();
  for (uint64_t i = 0; i < count; ++i) {
    while (!(*a)->Send(2, chunk)) {
      // Queue full: let the sender drain.
      std::this_thread::yield();
    }
  }
  // The transport is best effort: a stream broken under load drops its
  // batch. Count what arrived, until the last arrival.
  at_b.WaitFor(1 + count);
  {
    std::lock_guard<std::mutex> lock(at_b.mu);
    double s = std::chrono::duration<double>(at_b.last - start).count();
    out->mib_per_s = static_cast<double>(at_b.n - 1) / 16 / s;
  }

  uint64_t base;
  {
    std::lock_guard<std::mutex> lock(at_a.mu);
    base = at_a.n;
  }
  start = Clock::now();
  for (int i = 0; i < round_trips; ++i) {
    // A lost ping is sent again after 1 s (and costs that second).
    while (true) {
      (*a)->Send(2, "ping");
      if (at_a.WaitFor(base + 1, std::chrono::seconds(1))) break;
    }
    ++base;
  }
  out->rtt_us =
      std::chrono::duration<double, std::micro>(Clock::now() - start).count() /
      round_trips;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int mib = argc > 1 ? std::atoi(argv[1]) : 256;
  int round_trips = argc > 2 ? std::atoi(argv[2]) : 2000;
  Result plain, tls;
  if (!RunOnce(false, mib, round_trips, &plain) ||
      !RunOnce(true, mib, round_trips, &tls)) {
    std::fprintf(stderr, "transport_bench: a transfer did not complete\n");
    return 1;
  }
  std::printf("%-10s %12s %12s\n", "transport", "bulk MiB/s", "rtt us");
  std::printf("%-10s %12.1f %12.1f\n", "plaintext", plain.mib_per_s,
              plain.rtt_us);
  std::printf("%-10s %12.1f %12.1f\n", "mTLS", tls.mib_per_s, tls.rtt_us);
  std::printf("ratio tls/plain: throughput %.2f, round trip %.2f\n",
              tls.mib_per_s / plain.mib_per_s, tls.rtt_us / plain.rtt_us);
  return 0;
}
