#include "log/memory_log.h"

namespace paxosfs::log {

Status MemoryLog::Append(std::span<const Entry> entries) {
  for (const Entry& e : entries) {
    if (e.value.size() > kMaxValueBytes) {
      return Status::InvalidArgument("log entry for slot " +
                                     std::to_string(e.slot) +
                                     " exceeds kMaxValueBytes");
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (const Entry& e : entries) {
    PAXOSFS_CHECK_MSG(e.slot >= first_slot_, "append below FirstSlot()");
    auto it = entries_.find(e.slot);
    if (it != entries_.end() && it->second.chosen) {
      PAXOSFS_CHECK_MSG(e.chosen, "a chosen slot rewritten as not chosen");
      PAXOSFS_CHECK_MSG(e.value == it->second.value,
                        "a chosen slot rewritten with another value");
    }
    entries_[e.slot] = e;
  }
  return Status::Ok();
}

Status MemoryLog::SetMetadata(std::string_view blob) {
  PAXOSFS_CHECK(blob.size() <= kMaxValueBytes);
  std::lock_guard<std::mutex> lock(mu_);
  metadata_.assign(blob);
  return Status::Ok();
}

Status MemoryLog::Sync() { return Status::Ok(); }

StatusOr<Entry> MemoryLog::Get(uint64_t slot) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(slot);
  if (it == entries_.end()) {
    return Status::NotFound("no log record for slot " + std::to_string(slot));
  }
  return it->second;
}

uint64_t MemoryLog::FirstSlot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return first_slot_;
}

uint64_t MemoryLog::LastSlot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.empty() ? first_slot_ - 1 : entries_.rbegin()->first;
}

std::string MemoryLog::Metadata() const {
  std::lock_guard<std::mutex> lock(mu_);
  return metadata_;
}

Status MemoryLog::TruncatePrefix(uint64_t first_slot) {
  std::lock_guard<std::mutex> lock(mu_);
  if (first_slot <= first_slot_) return Status::Ok();
  first_slot_ = first_slot;
  entries_.erase(entries_.begin(), entries_.lower_bound(first_slot));
  return Status::Ok();
}

}  // namespace paxosfs::log
