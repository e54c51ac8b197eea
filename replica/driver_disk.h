// What the driver reads from and writes to its log outside a turn: a record
// as the core sees it, and the core it starts with.
#pragma once

#include <cstdint>
#include <memory>

#include "common/status.h"
#include "log/log.h"
#include "replica/core/core.h"
#include "replica/driver.h"

namespace paxosfs::replica {

// The record at `slot`; kNotFound if the log does not hold it.
StatusOr<LogRecord> ReadRecord(const log::Log* log, uint64_t slot);

// A core started from everything the log holds. Values of slots the state
// machine applied (through `applied`) stay on disk: the core reads them back
// only to send them to a peer.
StatusOr<std::unique_ptr<Core>> CoreFromDisk(const DriverOptions& options,
                                             log::Log* log, uint64_t applied);

}  // namespace paxosfs::replica
