// A minimal multi-threaded FUSE passthrough: mirrors SOURCE at MOUNTPOINT.
// It is the benchmarks' "FUSE floor": the cost of crossing the kernel/user
// boundary with no replication at all, so paxosfs's numbers can be read as
// overhead over FUSE and over the disk separately.
//
// Usage: fuse_passthrough SOURCE MOUNTPOINT [-f] [fuse options]
//
// Like paxosfs it allows 1 MiB writes and caches attributes briefly; unlike
// it, it does nothing to keep several mounts coherent.
#define FUSE_USE_VERSION 35

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse3/fuse.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

int base_fd = -1;

// FUSE paths start with '/'; *at() calls want them relative to base_fd.
const char* Rel(const char* path) { return path[1] == '\0' ? "." : path + 1; }

int Err(int rc) { return rc < 0 ? -errno : rc; }

void* Init(fuse_conn_info* conn, fuse_config* cfg) {
  cfg->use_ino = 1;
  cfg->nullpath_ok = 1;
  cfg->entry_timeout = 1.0;
  cfg->attr_timeout = 1.0;
  cfg->negative_timeout = 0;
  conn->max_write = 1 << 20;
  return nullptr;
}

int GetAttr(const char* path, struct stat* st, fuse_file_info* fi) {
  if (fi != nullptr) return Err(fstat(static_cast<int>(fi->fh), st));
  return Err(fstatat(base_fd, Rel(path), st, AT_SYMLINK_NOFOLLOW));
}

int ReadLink(const char* path, char* buf, size_t size) {
  ssize_t n = readlinkat(base_fd, Rel(path), buf, size - 1);
  if (n < 0) return -errno;
  buf[n] = '\0';
  return 0;
}

// With nullpath_ok libfuse passes no path to readdir, so directories are
// opened in OpenDir and read through the descriptor kept in fi->fh.
int OpenDir(const char* path, fuse_file_info* fi) {
  int fd = openat(base_fd, Rel(path), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return -errno;
  fi->fh = static_cast<uint64_t>(fd);
  return 0;
}

int ReadDir(const char*, void* buf, fuse_fill_dir_t filler, off_t,
            fuse_file_info* fi, fuse_readdir_flags) {
  // The whole listing goes out in one call (offset 0 to the filler), so each
  // call reads the directory from its start through a duplicate descriptor.
  int fd = dup(static_cast<int>(fi->fh));
  if (fd < 0) return -errno;
  DIR* dir = fdopendir(fd);
  if (dir == nullptr) {
    close(fd);
    return -errno;
  }
  rewinddir(dir);
  while (dirent* e = readdir(dir)) {
    struct stat st = {};
    st.st_ino = e->d_ino;
    st.st_mode = static_cast<mode_t>(DTTOIF(e->d_type));
    if (filler(buf, e->d_name, &st, 0, static_cast<fuse_fill_dir_flags>(0))) {
      break;
    }
  }
  closedir(dir);
  return 0;
}

int ReleaseDir(const char*, fuse_file_info* fi) {
  close(static_cast<int>(fi->fh));
  return 0;
}

int MkNod(const char* path, mode_t mode, dev_t rdev) {
  return Err(mknodat(base_fd, Rel(path), mode, rdev));
}
int MkDir(const char* path, mode_t mode) {
  return Err(mkdirat(base_fd, Rel(path), mode));
}
int Unlink(const char* path) { return Err(unlinkat(base_fd, Rel(path), 0)); }
int RmDir(const char* path) {
  return Err(unlinkat(base_fd, Rel(path), AT_REMOVEDIR));
}
int SymLink(const char* target, const char* path) {
  return Err(symlinkat(target, base_fd, Rel(path)));
}
int Rename(const char* from, const char* to, unsigned int flags) {
  return Err(renameat2(base_fd, Rel(from), base_fd, Rel(to), flags));
}
int Link(const char* from, const char* to) {
  return Err(linkat(base_fd, Rel(from), base_fd, Rel(to), 0));
}
int ChMod(const char* path, mode_t mode, fuse_file_info* fi) {
  if (fi != nullptr) return Err(fchmod(static_cast<int>(fi->fh), mode));
  return Err(fchmodat(base_fd, Rel(path), mode, 0));
}
int ChOwn(const char* path, uid_t uid, gid_t gid, fuse_file_info* fi) {
  if (fi != nullptr) return Err(fchown(static_cast<int>(fi->fh), uid, gid));
  return Err(fchownat(base_fd, Rel(path), uid, gid, AT_SYMLINK_NOFOLLOW));
}
int Truncate(const char* path, off_t size, fuse_file_info* fi) {
  if (fi != nullptr) return Err(ftruncate(static_cast<int>(fi->fh), size));
  int fd = openat(base_fd, Rel(path), O_WRONLY);
  if (fd < 0) return -errno;
  int rc = Err(ftruncate(fd, size));
  close(fd);
  return rc;
}
int Utimens(const char* path, const timespec tv[2], fuse_file_info* fi) {
  if (fi != nullptr) return Err(futimens(static_cast<int>(fi->fh), tv));
  return Err(utimensat(base_fd, Rel(path), tv, AT_SYMLINK_NOFOLLOW));
}
int Create(const char* path, mode_t mode, fuse_file_info* fi) {
  int fd = openat(base_fd, Rel(path), fi->flags, mode);
  if (fd < 0) return -errno;
  fi->fh = static_cast<uint64_t>(fd);
  return 0;
}
int Open(const char* path, fuse_file_info* fi) {
  int fd = openat(base_fd, Rel(path), fi->flags & ~O_NOFOLLOW);
  if (fd < 0) return -errno;
  fi->fh = static_cast<uint64_t>(fd);
  return 0;
}
int Read(const char*, char* buf, size_t size, off_t off, fuse_file_info* fi) {
  ssize_t n = pread(static_cast<int>(fi->fh), buf, size, off);
  return n < 0 ? -errno : static_cast<int>(n);
}
int Write(const char*, const char* buf, size_t size, off_t off,
          fuse_file_info* fi) {
  ssize_t n = pwrite(static_cast<int>(fi->fh), buf, size, off);
  return n < 0 ? -errno : static_cast<int>(n);
}
int StatFs(const char*, struct statvfs* st) {
  return Err(fstatvfs(base_fd, st));
}
int Release(const char*, fuse_file_info* fi) {
  close(static_cast<int>(fi->fh));
  return 0;
}
int Fsync(const char*, int datasync, fuse_file_info* fi) {
  int fd = static_cast<int>(fi->fh);
  return Err(datasync ? fdatasync(fd) : fsync(fd));
}
int Fallocate(const char*, int mode, off_t off, off_t len, fuse_file_info* fi) {
  return Err(fallocate(static_cast<int>(fi->fh), mode, off, len));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: %s SOURCE MOUNTPOINT [-f] [fuse options]\n"
                 "mirrors the directory SOURCE at MOUNTPOINT through FUSE\n",
                 argv[0]);
    return 2;
  }
  base_fd = open(argv[1], O_RDONLY | O_DIRECTORY);
  if (base_fd < 0) {
    std::fprintf(stderr, "%s: cannot open source directory %s: %s\n", argv[0],
                 argv[1], std::strerror(errno));
    return 1;
  }
  fuse_operations ops = {};
  ops.init = Init;
  ops.getattr = GetAttr;
  ops.readlink = ReadLink;
  ops.opendir = OpenDir;
  ops.readdir = ReadDir;
  ops.releasedir = ReleaseDir;
  ops.mknod = MkNod;
  ops.mkdir = MkDir;
  ops.unlink = Unlink;
  ops.rmdir = RmDir;
  ops.symlink = SymLink;
  ops.rename = Rename;
  ops.link = Link;
  ops.chmod = ChMod;
  ops.chown = ChOwn;
  ops.truncate = Truncate;
  ops.utimens = Utimens;
  ops.create = Create;
  ops.open = Open;
  ops.read = Read;
  ops.write = Write;
  ops.statfs = StatFs;
  ops.release = Release;
  ops.fsync = Fsync;
  ops.fallocate = Fallocate;
  // Drop SOURCE from argv: fuse_main sees "prog MOUNTPOINT [options]".
  argv[1] = argv[0];
  return fuse_main(argc - 1, argv + 1, &ops, nullptr);
}
