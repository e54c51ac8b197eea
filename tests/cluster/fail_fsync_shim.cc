// An LD_PRELOAD shim for the fault tests: once the file named by
// PAXOSFS_FAIL_FSYNC_TRIGGER exists, fsync, fdatasync and sync_file_range
// of any file whose path starts with PAXOSFS_FAIL_FSYNC_PREFIX fail with
// EIO and sync nothing, as a dying disk would. Everything else passes
// through to libc.
#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

bool ShouldFail(int fd) {
  const char* prefix = getenv("PAXOSFS_FAIL_FSYNC_PREFIX");
  const char* trigger = getenv("PAXOSFS_FAIL_FSYNC_TRIGGER");
  if (prefix == nullptr || trigger == nullptr || access(trigger, F_OK) != 0) {
    return false;
  }
  char link[64];
  char path[4096];
  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof(path) - 1);
  if (n < 0) return false;
  path[n] = '\0';
  return strncmp(path, prefix, strlen(prefix)) == 0;
}

template <typename F>
F Next(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" {

int fsync(int fd) {
  if (ShouldFail(fd)) {
    errno = EIO;
    return -1;
  }
  return Next<int (*)(int)>("fsync")(fd);
}

int fdatasync(int fd) {
  if (ShouldFail(fd)) {
    errno = EIO;
    return -1;
  }
  return Next<int (*)(int)>("fdatasync")(fd);
}

int sync_file_range(int fd, off_t offset, off_t nbytes, unsigned int flags) {
  if (ShouldFail(fd)) {
    errno = EIO;
    return -1;
  }
  return Next<int (*)(int, off_t, off_t, unsigned int)>("sync_file_range")(
      fd, offset, nbytes, flags);
}

}  // extern "C"
