// The core keeps no copy of an applied slot's value: it lives in the log
// alone, so a node's memory is bounded by what is in flight rather than by
// how many slots its log holds. Messages that carry such a slot (catch-up
// replies, promises) leave the core with WireEntry::value_in_log set, and
// whoever sends them fills the value in from the log first.
#pragma once

#include <cstdint>
#include <functional>

#include "common/status.h"
#include "replica/core/messages.h"
#include "replica/core/types.h"

namespace paxosfs::replica {

// The latest record written for `slot` (durable or not), or an error.
using RecordReader = std::function<StatusOr<LogRecord>(uint64_t slot)>;

// Fills every entry of `msg` marked value_in_log from `read`. Fails if a
// record is missing or is no longer the one the core meant (another
// ballot): the message must then not be sent, since a promise without one
// of its entries could mislead a candidate.
Status FillValuesFromLog(Message& msg, const RecordReader& read);

}  // namespace paxosfs::replica
