// An in-memory Log for tests and the deterministic simulation: same contract
// as FileLog (including the chosen-value check), nothing touches a disk, and
// Sync() never fails. A simulated "crash with disk loss" is simply a new
// MemoryLog; a crash that keeps the disk keeps the object.
//
// Thread safety: thread-safe.
#pragma once

#include <map>
#include <mutex>

#include "log/log.h"

namespace paxosfs::log {

class MemoryLog final : public Log {
 public:
  Status Append(std::span<const Entry> entries) override;
  Status SetMetadata(std::string_view blob) override;
  Status Sync() override;
  StatusOr<Entry> Get(uint64_t slot) const override;
  uint64_t FirstSlot() const override;
  uint64_t LastSlot() const override;
  std::string Metadata() const override;
  Status TruncatePrefix(uint64_t first_slot) override;

 private:
  mutable std::mutex mu_;
  uint64_t first_slot_ = 1;            // GUARDED_BY(mu_)
  std::string metadata_;               // GUARDED_BY(mu_)
  std::map<uint64_t, Entry> entries_;  // GUARDED_BY(mu_); by slot.
};

}  // namespace paxosfs::log
