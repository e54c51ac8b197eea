// The node's side of the FUSE adapter: turns a filesystem Command into a
// proposal, waits until this node has applied it, and returns its result;
// answers read barriers through the driver's read index.
//
// Exactly-once: each in-flight request holds one session of a pool
// (session ids are unique per process start) and a sequence number; a
// proposal that does not appear applied within `repropose_ms` (leader
// change, lost forward) is offered again unchanged, and the state machine
// applies it once.
//
// Thread safety: all public methods are thread-safe. OnApplied runs on the
// applier thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cli/kernel_cache.h"
#include "cli/space_guard.h"
#include "fsm/filesystem.h"
#include "fuse/backend.h"
#include "fuse/mount.h"
#include "fuse/page_cache.h"
#include "replica/applier.h"
#include "replica/driver.h"

namespace paxosfs::cli {

struct NodeBackendOptions {
  uint64_t node_id = 0;
  uint64_t boot_id = 0;  // Distinguishes this process's sessions.
  int repropose_ms = 1000;
  int request_timeout_ms = 15000;  // Then EAGAIN (no leader) or EIO.
  // Refuses commands that grow the data while the disk is short (ENOSPC);
  // null admits everything. Not owned; outlives the backend.
  SpaceGuard* space = nullptr;
};

class NodeBackend final : public fuse::Backend {
 public:
  // `cache` (null: the kernel caches no read reply) says how long the
  // kernel may keep read replies; not owned.
  NodeBackend(const NodeBackendOptions& options, fsm::Filesystem* fs,
              replica::Driver* driver, replica::Applier* applier,
              KernelCache* cache = nullptr);

  // Set once the mount exists, so applied remote writes invalidate its
  // page cache.
  void SetMount(fuse::Mount* mount);
  // Commands waiting for their outcome return Unavailable at once, and so
  // do later ones; read barriers stop retrying and stop waiting for the
  // applier (within 100 ms): a node that stops does not wait out a request
  // timeout for a quorum that may not come.
  void Stop();

  StatusOr<proto::Result> Execute(proto::Command command) override;
  Status ReadBarrier() override;
  StatusOr<std::unique_ptr<fsm::Reader>> NewReader() override;
  uint64_t CacheTicket() override;
  double CacheSeconds(uint64_t ticket, uint64_t ino) override;
  uint64_t DataVersion(uint64_t ino) override;

  // The applier's hook: records data versions, completes local waiters,
  // invalidates caches for changes made elsewhere.
  void OnApplied(uint64_t slot, const std::vector<std::string>& commands,
                 const std::vector<std::string>& results);

 private:
  struct Session {
    uint64_t id = 0;
    uint64_t sequence = 0;              // Guarded by mu_.
    bool in_flight = false;             // Guarded by mu_.
    std::optional<std::string> result;  // Guarded by mu_; set by OnApplied.
    // Its own, so a result wakes only the thread waiting for it.
    std::condition_variable cv;
  };

  bool Stopping();
  StatusOr<uint64_t> CurrentSize(uint64_t ino);
  Session* Acquire();
  void Release(Session* session);
  void Invalidate(const proto::Command& command);

  const NodeBackendOptions options_;
  fsm::Filesystem* const fs_;
  replica::Driver* const driver_;
  replica::Applier* const applier_;
  KernelCache* const cache_;
  fuse::DataVersions data_versions_;

  std::mutex mu_;
  std::vector<std::unique_ptr<Session>> sessions_;  // Guarded by mu_.
  std::vector<Session*> free_;                      // Guarded by mu_.
  fuse::Mount* mount_ = nullptr;                    // Guarded by mu_.
  bool stopping_ = false;                           // Guarded by mu_.
};

}  // namespace paxosfs::cli
