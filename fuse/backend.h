// What the FUSE adapter needs from the node it runs in: a way to have a
// mutation chosen and applied, a read barrier, and read-only views of the
// local state. The node daemon implements it over Multi-Paxos; tests may
// implement it over a lone state machine.
//
// Thread safety: every method may be called from many FUSE worker threads
// at once.
#pragma once

#include <cstdint>
#include <memory>

#include "common/status.h"
#include "fsm/filesystem.h"
#include "proto/command.pb.h"

namespace paxosfs::fuse {

class Backend {
 public:
  virtual ~Backend() = default;

  // Stamps `command` with a request id, has it chosen through the log and
  // waits until this node has applied it; returns the applied result (whose
  // `error` is the errno for the caller). A non-OK Status means the outcome
  // is unknown or the command was not chosen: kUnavailable when no leader
  // could be reached within the node's bound (the caller gets EAGAIN),
  // anything else EIO.
  virtual StatusOr<proto::Result> Execute(proto::Command command) = 0;

  // Returns once this node has applied every mutation that completed on any
  // node before the call began, so a local read that follows is
  // linearizable. Errors as for Execute.
  virtual Status ReadBarrier() = 0;

  // A read-only view of the local state for one thread.
  virtual StatusOr<std::unique_ptr<fsm::Reader>> NewReader() = 0;
};

}  // namespace paxosfs::fuse
