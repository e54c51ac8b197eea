// CheckAll(): the core's safety invariants, checked after every simulation
// step and cheap enough to leave on. A failure stops the process.
#include <algorithm>

#include "common/check.h"
#include "replica/core/core.h"

namespace paxosfs::replica {

void Core::CheckAll() const {
  PAXOSFS_CHECK_MSG(promised_ >= checked_promised_,
                    "promised ballot decreased");
  checked_promised_ = promised_;
  PAXOSFS_CHECK_MSG(applied_ >= checked_applied_, "applied index went back");
  checked_applied_ = applied_;
  PAXOSFS_CHECK(compacted_ <= applied_);
  PAXOSFS_CHECK_MSG(applied_ == chosen_prefix_,
                    "chosen prefix not handed to the state machine");
  PAXOSFS_CHECK(configs_.count(0) == 1);
  // Through the applied index it started from, the log may hold no chosen
  // record: the store commits before the log's chosen marks are synced, so
  // after a crash the log cannot vouch for those slots (catch-up refuses
  // them; replica/README.md).
  for (uint64_t s = std::max(compacted_, started_applied_) + 1;
       s <= chosen_prefix_; ++s) {
    auto it = log_.find(s);
    PAXOSFS_CHECK_MSG(it != log_.end(), "gap below the chosen prefix");
    PAXOSFS_CHECK_MSG(it->second.chosen, "unchosen slot below the prefix");
  }
  for (const auto& [slot, s] : log_) {
    PAXOSFS_CHECK(slot > compacted_);
    // Acceptance implies a promise at least as high; chosen entries learned
    // from peers may carry any ballot.
    if (!s.chosen)
      PAXOSFS_CHECK_MSG(s.ballot <= promised_, "accepted > promised");
  }
  PAXOSFS_CHECK((role_ == Role::kLeader || role_ == Role::kPreparing) ==
                leader_state_.has_value());
  if (leader_state_) {
    PAXOSFS_CHECK(leader_state_->ballot.node == opt_.id);
    for (const auto& [slot, f] : leader_state_->inflight) {
      PAXOSFS_CHECK_MSG(slot > chosen_prefix_, "chosen slot still in flight");
      PAXOSFS_CHECK_MSG(slot <= chosen_prefix_ + opt_.pipeline_window,
                        "slot in flight beyond the window");
      PAXOSFS_CHECK(slot < leader_state_->next_slot);
    }
  }
}

}  // namespace paxosfs::replica
