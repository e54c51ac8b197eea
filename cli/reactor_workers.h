// Worker threads that finish gRPC unary reactors with work that may block
// (waiting for consensus, scanning the store, writing files), so that gRPC's
// own threads never wait. Finished threads are joined when the next one
// starts; the destructor joins the rest.
//
// Thread safety: Run is thread-safe. Destroy after the gRPC server that
// calls Run has shut down.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/status.h"

namespace paxosfs::cli {

class ReactorWorkers {
 public:
  ReactorWorkers() = default;
  ~ReactorWorkers();
  ReactorWorkers(const ReactorWorkers&) = delete;
  ReactorWorkers& operator=(const ReactorWorkers&) = delete;

  // Runs `work` on a new thread, which finishes `reactor` with its result.
  void Run(grpc::ServerUnaryReactor* reactor,
           std::function<grpc::Status()> work);

 private:
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::mutex mu_;                // A leaf.
  std::vector<Worker> workers_;  // Guarded by mu_.
};

// The gRPC status for a Status (kOk -> OK; codes map to their namesakes).
grpc::Status ToGrpc(const Status& s);

}  // namespace paxosfs::cli
