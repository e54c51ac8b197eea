#include "fuse/open_files.h"

#include "common/check.h"

namespace paxosfs::fuse {

void OpenFiles::Opened(uint64_t ino) {
  std::lock_guard<std::mutex> lock(mu_);
  files_[ino].handles++;
}

bool OpenFiles::Closed(uint64_t ino) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(ino);
  // Not counted (an open the kernel abandoned): nothing to settle.
  if (it == files_.end() || it->second.handles == 0) return false;
  it->second.handles--;
  return Settle(it);
}

bool OpenFiles::Removing(uint64_t ino) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(ino);
  if (it == files_.end() || it->second.handles == 0) return false;
  it->second.removing++;
  return true;
}

bool OpenFiles::Removed(uint64_t ino, bool orphaned) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(ino);
  PAXOSFS_CHECK(it != files_.end() && it->second.removing > 0);
  it->second.removing--;
  it->second.orphan = it->second.orphan || orphaned;
  return Settle(it);
}

bool OpenFiles::Any() {
  std::lock_guard<std::mutex> lock(mu_);
  return !files_.empty();
}

bool OpenFiles::Settle(std::unordered_map<uint64_t, File>::iterator it) {
  if (it->second.handles > 0 || it->second.removing > 0) return false;
  bool release = it->second.orphan;
  files_.erase(it);
  return release;
}

}  // namespace paxosfs::fuse
