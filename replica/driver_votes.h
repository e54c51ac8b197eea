// What one turn's Ready votes for, as the driver orders its I/O around it:
// which records must be durable before replies leave, the first slot they
// concern, which replies vouch for them, and reporting each vote.
#pragma once

#include <cstdint>

#include "replica/core/core.h"
#include "replica/driver.h"

namespace paxosfs::replica {

// Whether `ready` holds a vote (an accepted record) or a promise (new
// metadata), which must be durable before any reply that depends on it. A
// record marking a slot chosen is knowledge, not a vote: a chosen value can
// always be learned again from a quorum, so it rides along with the next
// sync instead of costing one of its own.
bool NeedsSync(const Ready& ready);

// The lowest slot `ready` votes for (UINT64_MAX: none).
uint64_t FirstVotedSlot(const Ready& ready);

// Replies that vouch for this node's promises and votes (promise, accepted,
// lease grant) may leave only once those are durable. Everything else (a
// leader's accepts and prepares, heartbeats, catch-up, read indexes) leaves
// before the sync, so the leader's own fsync overlaps its followers'. That
// is safe because answers to it are handled in a later turn, after this
// turn's sync returned; if the sync fails the node stops taking part.
bool VouchesForDisk(MsgType type);

// Calls `options.on_vote` once per slot `ready` votes for or, as leader,
// proposes.
void ReportVotes(const Ready& ready, const DriverOptions& options);

}  // namespace paxosfs::replica
