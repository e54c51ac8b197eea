// A Backend over one local state machine, no consensus: lets the FUSE
// adapter be tested against real mounts before (and apart from) the
// cluster. Every command is applied at once, as one slot. Execute may also
// be called by a test directly: the kernel then learns of the change only
// as it would of a change made on another node.
#pragma once

#include <mutex>

#include "fsm/filesystem.h"
#include "fuse/backend.h"
#include "fuse/page_cache.h"

namespace paxosfs::fuse {

class LocalBackend final : public Backend {
 public:
  // `boot`: Command.boot of every command, as one process of a node.
  explicit LocalBackend(fsm::Filesystem* fs, uint64_t boot = 1)
      : fs_(fs), boot_(boot) {}

  StatusOr<proto::Result> Execute(proto::Command command) override {
    std::lock_guard<std::mutex> lock(mu_);
    proto::RequestId* id = command.mutable_request_id();
    id->set_node(1);
    id->set_session(1);
    id->set_sequence(++sequence_);
    command.set_boot(boot_);
    uint64_t slot = fs_->AppliedIndex() + 1;
    auto results = fs_->Apply(slot, {command.SerializeAsString()});
    if (!results.ok()) return results.status();
    versions_.Applied(slot, command);
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

  uint64_t DataVersion(uint64_t ino) override { return versions_.Get(ino); }

 private:
  fsm::Filesystem* const fs_;
  const uint64_t boot_;
  std::mutex mu_;
  uint64_t sequence_ = 0;  // Guarded by mu_.
  DataVersions versions_;
};

}  // namespace paxosfs::fuse
