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

  // Whether the kernel may cache a read reply: take a ticket before reading
  // the state the reply carries, then ask CacheSeconds how long the kernel
  // may keep the reply's attributes of `ino` and the name it was found
  // under (ino 0: a name found missing). 0 means it must ask again; a
  // backend that allows more must drop the kernel's copy (Mount::
  // DropCached*) before any change to it completes, on any node.
  virtual uint64_t CacheTicket() { return 0; }
  virtual double CacheSeconds(uint64_t /*ticket*/, uint64_t /*ino*/) {
    return 0;
  }

  // The data version of `ino` (fuse/page_cache.h, DataVersions::Get): after
  // a read barrier, it differs from any earlier value if a change to the
  // file's data completed before the barrier. 0: unknown, so an open never
  // keeps the kernel's cached pages of the file.
  virtual uint64_t DataVersion(uint64_t /*ino*/) { return 0; }
};

}  // namespace paxosfs::fuse
