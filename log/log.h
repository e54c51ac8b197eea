// The durable replicated log: what an acceptor/learner must remember across
// crashes (after LogCabin Storage/Log.h). It stores, per slot, the latest
// record written for it, and one opaque metadata blob (the acceptor's
// promised ballot and the like). It knows nothing of Paxos beyond the rule
// that a chosen value never changes, which it checks always.
//
// Two implementations: FileLog (log/file_log.h; segment files, checksummed
// records, group commit) and MemoryLog (log/memory_log.h; for tests and the
// simulation).
//
// Durability: Append and SetMetadata only buffer. Everything buffered before
// a call to Sync() is durable once that call returns OK. A Paxos acceptor
// must not answer a message before the Sync covering its records returned.
//
// Errors: once a write or a sync has failed, the log is poisoned: every later
// Append, SetMetadata, Sync, Get and TruncatePrefix returns that error (a
// failed fsync may have dropped data the kernel had reported written; the
// only safe way on is to reopen, which re-reads what is really on disk).
//
// Thread safety: all methods are thread-safe. Concurrent Sync() calls share
// one fdatasync (group commit).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"

namespace paxosfs::log {

// One slot's durable state. A later record for a slot replaces the earlier
// one (a re-accept at a higher ballot, or the same value marked chosen).
struct Entry {
  uint64_t slot = 0;
  uint64_t ballot_round = 0;  // Ballot under which `value` was accepted.
  uint64_t ballot_node = 0;
  bool chosen = false;  // Known to be chosen.
  std::string value;    // Opaque bytes (the replica's encoding).

  bool operator==(const Entry&) const = default;
};

// Largest value a record may hold. Values are read and written whole, so
// this bounds the memory one Get or Append uses.
inline constexpr uint64_t kMaxValueBytes = 64ull << 20;

class Log {
 public:
  virtual ~Log() = default;

  // Buffers one record per entry, in order; a later entry for a slot
  // supersedes an earlier one. Not durable until Sync() (an implementation
  // may sync earlier, e.g. when its buffer is full; never later).
  // REQUIRES: every e.slot >= FirstSlot().
  // REQUIRES: if a slot is recorded chosen, a new entry for it is chosen and
  //           has the same value (checked; the process stops otherwise).
  // Returns InvalidArgument if a value exceeds kMaxValueBytes (nothing is
  // buffered then), or the poisoning error.
  virtual Status Append(std::span<const Entry> entries) = 0;

  // Buffers a new metadata blob; the latest one wins. Not durable until
  // Sync(). REQUIRES: blob.size() <= kMaxValueBytes.
  virtual Status SetMetadata(std::string_view blob) = 0;

  // Makes every record buffered before this call durable. Concurrent callers
  // share one fdatasync; a caller whose records another caller's sync
  // already covered returns without one. A failure poisons the log.
  virtual Status Sync() = 0;

  // The latest record for `slot`, durable or not. NotFound if the slot has
  // no record or lies below FirstSlot(); Corruption if its bytes on disk no
  // longer match their checksum.
  virtual StatusOr<Entry> Get(uint64_t slot) const = 0;

  // Lowest slot that may hold a record: 1 for a new log, then the argument
  // of the last TruncatePrefix.
  virtual uint64_t FirstSlot() const = 0;
  // Highest slot with a record, or FirstSlot() - 1 if there is none. Slots
  // between the two may have no record (Paxos fills slots out of order).
  virtual uint64_t LastSlot() const = 0;

  // The latest blob given to SetMetadata (durable or not); empty if none.
  virtual std::string Metadata() const = 0;

  // Forgets every slot below `first_slot` (a checkpoint covers them) and
  // frees the disk space of segments that hold nothing else. Durable when it
  // returns OK, together with everything buffered before it (it includes a
  // Sync(), even when first_slot <= FirstSlot() leaves nothing to forget).
  virtual Status TruncatePrefix(uint64_t first_slot) = 0;
};

}  // namespace paxosfs::log
