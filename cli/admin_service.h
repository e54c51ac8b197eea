// The node's admin API (proto/admin.proto): status for `paxosfs status`.
// Served with the callback API; GetStatus reads local state only and never
// waits for consensus.
//
// Thread safety: gRPC calls it from its threads; everything it reads is
// thread-safe.
#pragma once

#include <string>

#include "cli/data_dir.h"
#include "fsm/filesystem.h"
#include "proto/admin.grpc.pb.h"
#include "replica/applier.h"
#include "replica/driver.h"

namespace paxosfs::cli {

class AdminService final : public proto::Admin::CallbackService {
 public:
  AdminService(const Identity& identity, std::string mount_point,
               fsm::Filesystem* fs, const replica::Applier* applier)
      : identity_(identity),
        mount_point_(std::move(mount_point)),
        fs_(fs),
        applier_(applier) {}

  // Set once the driver runs; until then status shows no consensus state.
  void SetDriver(const replica::Driver* driver) { driver_ = driver; }

  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* context,
                                      const proto::StatusRequest* request,
                                      proto::NodeStatus* reply) override;

 private:
  const Identity identity_;
  const std::string mount_point_;
  fsm::Filesystem* const fs_;
  const replica::Applier* const applier_;
  std::atomic<const replica::Driver*> driver_{nullptr};
};

}  // namespace paxosfs::cli
