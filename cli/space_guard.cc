#include "cli/space_guard.h"

#include <linux/falloc.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

namespace paxosfs::cli {

StatusOr<uint64_t> FreeBytes(const std::string& path) {
  struct statvfs st;
  if (statvfs(path.c_str(), &st) != 0) {
    return Status::IOError("statvfs " + path + ": " + std::strerror(errno));
  }
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

bool GrowsData(
    const proto::Command& c,
    const std::function<StatusOr<uint64_t>(uint64_t ino)>& current_size) {
  switch (c.op_case()) {
    case proto::Command::kCreate:
    case proto::Command::kMkdir:
    case proto::Command::kLink:
    case proto::Command::kSymlink:
    case proto::Command::kWrite:
    case proto::Command::kSetxattr:
      return true;
    case proto::Command::kFallocate:
      return (c.fallocate().mode() & FALLOC_FL_PUNCH_HOLE) == 0;
    case proto::Command::kSetattr: {
      const proto::SetAttr& s = c.setattr();
      if ((s.valid() & proto::SETATTR_SIZE) == 0 || s.size() == 0) {
        return false;
      }
      auto size = current_size(s.inode());
      // Unknown: let it through; apply decides (ENOENT and the like).
      return size.ok() && s.size() > *size;
    }
    default:  // unlink, rmdir, rename, removexattr, no-op, collect.
      return false;
  }
}

SpaceGuard::SpaceGuard(std::string dir, uint64_t reserve_bytes, int cache_ms)
    : dir_(std::move(dir)), reserve_bytes_(reserve_bytes), cache_(cache_ms) {}

bool SpaceGuard::BelowReserve() {
  if (reserve_bytes_ == 0) return false;
  std::lock_guard<std::mutex> lock(mu_);
  auto now = std::chrono::steady_clock::now();
  if (free_ == UINT64_MAX || now - read_at_ >= cache_) {
    auto free = FreeBytes(dir_);
    free_ = free.ok() ? *free : UINT64_MAX;
    read_at_ = now;
  }
  return free_ < reserve_bytes_;
}

Status SpaceGuard::Admit(
    const proto::Command& c,
    const std::function<StatusOr<uint64_t>(uint64_t ino)>& current_size) {
  // The disk is checked first: the size lookup a truncate needs costs a
  // store read, paid only when space is short.
  if (!BelowReserve() || !GrowsData(c, current_size)) return Status::Ok();
  return Status::NoSpace(
      "less than the reserve of " + std::to_string(reserve_bytes_ >> 20) +
      " MiB is free on the file system of " + dir_ +
      "; delete files (or free space on that disk) to write again");
}

}  // namespace paxosfs::cli
