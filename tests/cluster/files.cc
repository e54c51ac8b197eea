#include "tests/cluster/files.h"

#include <fcntl.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

namespace paxosfs::testing {

int WriteFileError(const std::string& path, const std::string& data,
                   bool sync) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return errno;
  int error = 0;
  size_t done = 0;
  while (error == 0 && done < data.size()) {
    size_t n = std::min<size_t>(data.size() - done, 1 << 20);
    ssize_t w = write(fd, data.data() + done, n);
    if (w < 0) error = errno;
    if (w == 0) error = EIO;
    if (w > 0) done += static_cast<size_t>(w);
  }
  if (error == 0 && sync && fsync(fd) != 0) error = errno;
  if (close(fd) != 0 && error == 0) error = errno;
  return error;
}

bool WriteFile(const std::string& path, const std::string& data, bool sync) {
  return WriteFileError(path, data, sync) == 0;
}

std::string ReadFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return "<" + std::string(strerror(errno)) + ">";
  std::string out;
  std::vector<char> buf(1 << 20);
  ssize_t n;
  while ((n = read(fd, buf.data(), buf.size())) > 0) out.append(buf.data(), n);
  close(fd);
  return out;
}

std::string Pattern(size_t size, int seed) {
  std::string s(size, '\0');
  uint64_t x = static_cast<uint64_t>(seed) * 0x9e3779b97f4a7c15ULL + 1;
  for (size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s[i] = static_cast<char>(x);
  }
  return s;
}

MountState StatMount(const std::string& path) {
  constexpr long kFuseSuperMagic = 0x65735546;  // linux/magic.h
  struct statfs fs;
  if (statfs(path.c_str(), &fs) != 0) {
    return errno == ENOTCONN ? MountState::kDead : MountState::kOther;
  }
  return fs.f_type == kFuseSuperMagic ? MountState::kFuse : MountState::kOther;
}

}  // namespace paxosfs::testing
