// Promotes this node to a voter once it has caught up (`join --voter`, or
// a voter rebuilt by `paxosfs rebuild`): a node that voted while far behind
// would slow every write until it caught up, and a cluster that counted on
// it for a quorum would stall.
//
// A rebuilt voter is still listed with the disk id it had; the acceptor
// that disk was lost its promises and votes, so it is re-admitted in two
// changes (the core allows one voter change at a time): demoted, then
// promoted with the disk id it has now. Once it votes, DIR/revote is
// cleared.
//
// Thread safety: owns one thread; construct and destroy from one thread.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "cli/data_dir.h"
#include "proto/admin.pb.h"
#include "replica/applier.h"
#include "replica/driver.h"
#include "tls/credentials.h"

namespace paxosfs::cli {

class Promoter {
 public:
  // `driver` and `applier` must outlive this object.
  Promoter(const Identity& identity, std::string data_dir, tls::Material tls,
           const replica::Driver* driver, const replica::Applier* applier);
  ~Promoter();

 private:
  void Run();
  // True once this node votes or was made a voter (done), or the leader
  // refused for good.
  bool TryOnce();
  // Clears DIR/revote; returns true.
  bool Done();
  // Asks the leader (found through `leader`) for one change: true if made.
  bool Ask(const std::string& leader, proto::MemberChangeRequest request);

  const Identity identity_;
  const std::string data_dir_;
  const tls::Material tls_;
  const replica::Driver* const driver_;
  const replica::Applier* const applier_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // Guarded by mu_.
  std::thread thread_;
};

}  // namespace paxosfs::cli
