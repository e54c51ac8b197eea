#include "replica/log_trim.h"

#include <algorithm>
#include <iterator>

namespace paxosfs::replica {

void LogTrim::Pushed(uint64_t slot, uint64_t bytes) {
  total_ += bytes;
  pushed_.emplace_back(slot, total_);
}

std::optional<uint64_t> LogTrim::Through(uint64_t durable,
                                         uint64_t first_slot) {
  if (durable == last_durable_) return std::nullopt;
  last_durable_ = durable;
  uint64_t by_slots = durable > keep_slots_ ? durable - keep_slots_ : 0;
  uint64_t by_bytes = ThroughByteMargin(durable);
  uint64_t through = std::max(by_slots, by_bytes);
  if (through < first_slot) return std::nullopt;
  if (by_bytes <= by_slots && through + 1 - first_slot < every_slots_) {
    return std::nullopt;
  }
  return through;
}

void LogTrim::Truncated(uint64_t through) {
  while (!pushed_.empty() && pushed_.front().first <= through) {
    pushed_.pop_front();
  }
}

uint64_t LogTrim::ThroughByteMargin(uint64_t durable) const {
  auto end = std::upper_bound(
      pushed_.begin(), pushed_.end(), durable,
      [](uint64_t slot, const auto& p) { return slot < p.first; });
  if (end == pushed_.begin()) return 0;
  uint64_t total = std::prev(end)->second;
  if (total <= keep_bytes_) return 0;
  uint64_t floor = total - keep_bytes_;
  auto it = std::lower_bound(
      pushed_.begin(), end, floor,
      [](const auto& p, uint64_t bytes) { return p.second < bytes; });
  if (it == pushed_.begin()) return 0;
  return std::prev(it)->first;
}

}  // namespace paxosfs::replica
