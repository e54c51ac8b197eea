// A Backend over one local state machine, no consensus: lets the FUSE
// adapter be tested against real mounts before (and apart from) the
// cluster. Every command is applied at once, as one slot.
#pragma once

#include <mutex>

#include "fsm/filesystem.h"
#include "fuse/backend.h"

namespace paxosfs::fuse {

class LocalBackend final : public Backend {
 public:
  explicit LocalBackend(fsm::Filesystem* fs) : fs_(fs) {}

  StatusOr<proto::Result> Execute(proto::Command command) override {
    std::lock_guard<std::mutex> lock(mu_);
    proto::RequestId* id = command.mutable_request_id();
    id->set_node(1);
    id->set_session(1);
    id->set_sequence(++sequence_);
    auto results =
        fs_->Apply(fs_->AppliedIndex() + 1, {command.SerializeAsString()});
    if (!results.ok()) return results.status();
    proto::Result result;
    if (results->size() != 1 || !result.ParseFromString((*results)[0])) {
      return Status::Corruption("state machine returned a malformed result");
    }
    return result;
  }

  Status ReadBarrier() override { return Status::Ok(); }

  StatusOr<std::unique_ptr<fsm::Reader>> NewReader() override {
    return fs_->NewReader();
  }

 private:
  fsm::Filesystem* const fs_;
  std::mutex mu_;
  uint64_t sequence_ = 0;  // Guarded by mu_.
};

}  // namespace paxosfs::fuse
