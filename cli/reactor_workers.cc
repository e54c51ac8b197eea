#include "cli/reactor_workers.h"

namespace paxosfs::cli {

ReactorWorkers::~ReactorWorkers() {
  std::lock_guard<std::mutex> lock(mu_);
  for (Worker& w : workers_) w.thread.join();
}

void ReactorWorkers::Run(grpc::ServerUnaryReactor* reactor,
                         std::function<grpc::Status()> work) {
  auto done = std::make_shared<std::atomic<bool>>(false);
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(workers_, [](Worker& w) {
    if (!*w.done) return false;
    w.thread.join();
    return true;
  });
  workers_.push_back({std::thread([reactor, done, work = std::move(work)] {
                        reactor->Finish(work());
                        *done = true;
                      }),
                      done});
}

grpc::Status ToGrpc(const Status& s) {
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  switch (s.code()) {
    case StatusCode::kOk:
      return grpc::Status::OK;
    case StatusCode::kNotFound:
      code = grpc::StatusCode::NOT_FOUND;
      break;
    case StatusCode::kAlreadyExists:
      code = grpc::StatusCode::ALREADY_EXISTS;
      break;
    case StatusCode::kInvalidArgument:
      code = grpc::StatusCode::INVALID_ARGUMENT;
      break;
    case StatusCode::kUnavailable:
      code = grpc::StatusCode::UNAVAILABLE;
      break;
    case StatusCode::kAborted:
      code = grpc::StatusCode::ABORTED;
      break;
    case StatusCode::kTimedOut:
      code = grpc::StatusCode::DEADLINE_EXCEEDED;
      break;
    case StatusCode::kPermissionDenied:
      code = grpc::StatusCode::PERMISSION_DENIED;
      break;
    default:
      code = grpc::StatusCode::INTERNAL;
  }
  return grpc::Status(code, s.message());
}

}  // namespace paxosfs::cli
