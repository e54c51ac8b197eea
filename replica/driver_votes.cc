#include "replica/driver_votes.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "replica/core/codec.h"

namespace paxosfs::replica {

bool NeedsSync(const Ready& ready) {
  return ready.metadata.has_value() || FirstVotedSlot(ready) != UINT64_MAX;
}

uint64_t FirstVotedSlot(const Ready& ready) {
  uint64_t first = UINT64_MAX;
  for (const LogRecord& r : ready.records) {
    if (!r.chosen) first = std::min(first, r.slot);
  }
  return first;
}

bool VouchesForDisk(MsgType type) {
  return type == MsgType::kPromise || type == MsgType::kAccepted ||
         type == MsgType::kHeartbeatReply;
}

void ReportVotes(const Ready& ready, const DriverOptions& options) {
  if (!options.on_vote) return;
  std::set<uint64_t> reported;
  auto report = [&](uint64_t slot, const std::string& value) {
    if (!reported.insert(slot).second) return;
    options.on_vote(slot,
                    [&value]() -> std::optional<std::vector<std::string>> {
                      StatusOr<Value> decoded = DecodeValue(value);
                      if (!decoded.ok()) return std::nullopt;
                      return std::move(decoded->commands);
                    });
  };
  for (const LogRecord& r : ready.records) {
    if (!r.chosen) report(r.slot, r.value);
  }
  // A leader that is not a voter of a slot's configuration (demoted, it may
  // lead on) writes no record for what it proposes there, yet the slot can
  // be chosen once its accepts leave: they count as its vote here.
  for (const Envelope& env : ready.messages) {
    if (env.msg.type != MsgType::kAccept) continue;
    for (const WireEntry& e : env.msg.entries) {
      if (!e.chosen && !e.value_in_log) report(e.slot, e.value);
    }
  }
}

}  // namespace paxosfs::replica
