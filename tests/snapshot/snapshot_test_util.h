// Test helpers for snapshot streaming: a store with content built through
// the filesystem state machine, and a gRPC server serving a SnapshotSource
// on 127.0.0.1 with a free port.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <random>
#include <string>

#include "gtest/gtest.h"
#include "snapshot/stream.h"
#include "tests/fsm/fsm_harness.h"

namespace paxosfs::snapshot::testing {

using fsm::testing::Harness;
using fsm::testing::TempDir;
namespace cmd = fsm::testing::cmd;

inline bool Exists(const std::string& path) {
  return std::filesystem::exists(path);
}

// Incompressible bytes, so chunk sizes on the wire are predictable.
inline std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    memcpy(&s[i], &v, 8);
  }
  return s;
}

// Creates `files` files of `file_bytes` each (half random, half zeros
// and text, so compression has something to do), one slot per command.
inline void Populate(Harness* h, int files, size_t file_bytes,
                     uint32_t seed = 1) {
  for (int i = 0; i < files; ++i) {
    proto::Result r =
        h->Do(cmd::Create(fsm::kRootIno, "f" + std::to_string(i), 0100644));
    ASSERT_EQ(r.error(), 0);
    std::string data = RandomBytes(file_bytes / 2, seed + i) +
                       std::string(file_bytes - file_bytes / 2, 'x');
    for (size_t off = 0; off < data.size(); off += 1 << 20) {
      ASSERT_EQ(
          h->Do(cmd::Write(r.attr().ino(), off, data.substr(off, 1 << 20)))
              .error(),
          0);
    }
  }
}

// A gRPC server on 127.0.0.1:0 serving one SnapshotSource.
class SourceServer {
 public:
  explicit SourceServer(SourceOptions options) : options_(options) { Start(); }
  ~SourceServer() { Stop(); }

  void Start() {
    auto source = SnapshotSource::Create(options_);
    PAXOSFS_CHECK_MSG(source.ok(), source.status().ToString().c_str());
    source_ = std::move(*source);
    grpc::ServerBuilder builder;
    // Reuse the port of an earlier run: a restarted sender.
    std::string address = "127.0.0.1:" + std::to_string(port_);
    builder.AddListeningPort(address, grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(source_->service());
    server_ = builder.BuildAndStart();
    PAXOSFS_CHECK(server_ != nullptr);
    PAXOSFS_CHECK(port_ != 0);
  }
  void Stop() {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
    server_.reset();
    source_.reset();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  SnapshotSource& source() { return *source_; }

 private:
  SourceOptions options_;
  int port_ = 0;
  std::unique_ptr<SnapshotSource> source_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace paxosfs::snapshot::testing
