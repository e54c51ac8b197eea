#include "replica/core/log_values.h"

#include <string>

namespace paxosfs::replica {

Status FillValuesFromLog(Message& msg, const RecordReader& read) {
  for (WireEntry& e : msg.entries) {
    if (!e.value_in_log) continue;
    StatusOr<LogRecord> r = read(e.slot);
    if (!r.ok()) {
      return r.status().WithContext("slot " + std::to_string(e.slot) +
                                    " of the log");
    }
    // A record at the same ballot holds the same value, chosen mark or not:
    // a leader proposes one value per slot per ballot.
    if (r->ballot != e.ballot || r->value_in_log) {
      return Status::Corruption("slot " + std::to_string(e.slot) +
                                " of the log holds another record than the "
                                "one this node applied");
    }
    e.value = std::move(r->value);
    e.value_in_log = false;
  }
  return Status::Ok();
}

}  // namespace paxosfs::replica
