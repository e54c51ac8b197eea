// The node's admin API (proto/admin.proto): status for `paxosfs status`, and
// membership changes for `paxosfs join` and `paxosfs members`. Served with
// the callback API: a plain GetStatus reads local state only and answers at
// once; a status with the store digest (a full scan) and ChangeMembership
// (which waits for consensus) run on a worker thread of their own and
// finish the reactor from there.
//
// Thread safety: gRPC calls it from its threads; everything it reads is
// thread-safe. Destroy it after the gRPC server has shut down.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cli/data_dir.h"
#include "cli/reactor_workers.h"
#include "fsm/filesystem.h"
#include "proto/admin.grpc.pb.h"
#include "replica/applier.h"
#include "replica/driver.h"
#include "replica/transport/peer_transport.h"

namespace paxosfs::cli {

class AdminService final : public proto::Admin::CallbackService {
 public:
  AdminService(const Identity& identity, fsm::Filesystem* fs,
               const replica::Applier* applier)
      : identity_(identity), fs_(fs), applier_(applier) {}

  // Set once the driver runs, cleared before it stops; until then status
  // shows no consensus state and membership changes are refused.
  void SetDriver(replica::Driver* driver);
  // Set once the mount answers, cleared before it unmounts: status shows a
  // mount point only while files can be used through it (tests and the
  // demo wait for it).
  void SetMountPoint(std::string mount_point);
  // Set once the peer service runs, cleared before it stops.
  void SetTransport(const replica::Transport* transport) {
    transport_.store(transport);
  }

  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* context,
                                      const proto::StatusRequest* request,
                                      proto::NodeStatus* reply) override;
  grpc::ServerUnaryReactor* ChangeMembership(
      grpc::CallbackServerContext* context,
      const proto::MemberChangeRequest* request,
      proto::MemberChangeReply* reply) override;

 private:
  grpc::Status Change(const proto::MemberChangeRequest& request,
                      proto::MemberChangeReply* reply);
  void FillStatus(bool with_digest, proto::NodeStatus* reply);

  const Identity identity_;
  fsm::Filesystem* const fs_;
  const replica::Applier* const applier_;

  // Lock order: driver_mu_ is a leaf. Held while a change uses the driver,
  // so SetDriver(nullptr) waits for changes in progress.
  std::mutex driver_mu_;
  std::atomic<replica::Driver*> driver_{nullptr};
  std::atomic<const replica::Transport*> transport_{nullptr};
  std::mutex mount_mu_;  // A leaf.
  std::string mount_point_;
  // Last member: destroyed (joined) first, while what workers use lives.
  ReactorWorkers workers_;
};

}  // namespace paxosfs::cli
