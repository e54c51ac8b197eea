// Promotes this node to a voter once it has caught up (`join --voter`): a
// node that voted while far behind would slow every write until it caught
// up, and a cluster that counted on it for a quorum would stall.
//
// Thread safety: owns one thread; construct and destroy from one thread.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "cli/data_dir.h"
#include "replica/applier.h"
#include "replica/driver.h"
#include "tls/credentials.h"

namespace paxosfs::cli {

class Promoter {
 public:
  // `driver` and `applier` must outlive this object.
  Promoter(const Identity& identity, tls::Material tls,
           const replica::Driver* driver, const replica::Applier* applier);
  ~Promoter();

 private:
  void Run();
  // True once this node votes (done) or the leader refused for good.
  bool TryOnce();

  const Identity identity_;
  const tls::Material tls_;
  const replica::Driver* const driver_;
  const replica::Applier* const applier_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // Guarded by mu_.
  std::thread thread_;
};

}  // namespace paxosfs::cli
