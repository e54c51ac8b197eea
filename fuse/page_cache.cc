#include "fuse/page_cache.h"

#include <algorithm>

namespace paxosfs::fuse {

uint64_t DataChanged(const proto::Command& command) {
  if (command.has_write()) return command.write().inode();
  if (command.has_fallocate()) return command.fallocate().inode();
  if (command.has_setattr() &&
      (command.setattr().valid() & proto::SETATTR_SIZE)) {
    return command.setattr().inode();
  }
  return 0;
}

void DataVersions::Applied(uint64_t slot, const proto::Command& command) {
  uint64_t ino = DataChanged(command);
  if (ino == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (changed_.size() >= max_ && changed_.count(ino) == 0) {
    // Every forgotten inode now reads as changed at the newest slot seen,
    // which is at least its own last change.
    for (const auto& [forgotten, version] : changed_) {
      floor_ = std::max(floor_, version);
    }
    changed_.clear();
  }
  changed_[ino] = slot;
}

uint64_t DataVersions::Get(uint64_t ino) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = changed_.find(ino);
  return it == changed_.end() ? floor_ : it->second;
}

bool OpenVersions::Keep(uint64_t ino, uint64_t version, bool cached) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = opened_.find(ino);
  if (it == opened_.end()) {
    if (opened_.size() >= max_) {
      opened_.clear();
      forgot_ = true;
    }
    it = opened_.emplace(ino, Opened{}).first;
  }
  Opened& o = it->second;
  bool same = version != 0 && o.version == version;
  o.version = version;
  o.cached = o.cached || cached;
  return same;
}

bool OpenVersions::MayHavePages(uint64_t ino) {
  std::lock_guard<std::mutex> lock(mu_);
  if (forgot_) return true;
  auto it = opened_.find(ino);
  return it != opened_.end() && it->second.cached;
}

}  // namespace paxosfs::fuse
