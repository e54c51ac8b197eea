#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "log/env.h"

namespace paxosfs::log {
namespace {

// One place turns errno into a Status, so ENOSPC is NoSpace everywhere.
Status ErrnoStatus(std::string_view call, const std::string& name, int err) {
  std::string message = std::string(call) + " " + name + ": " + strerror(err);
  if (err == ENOSPC || err == EDQUOT) return Status::NoSpace(message);
  if (err == ENOENT) return Status::NotFound(message);
  return Status::IOError(message);
}

// Drops what it made durable from the page cache, trailing the end by
// kPosixCacheLagBytes. Committed values reach the state machine from memory;
// only catch-up replies (learners pulling from their tree parent, a peer
// that fell behind), promises and recovery read the log, and the first
// mostly read what was just written: the lag keeps that cached. Left
// cached, a log fills memory with pages nobody reads and every append
// takes fresh ones; dropped, appends reuse the pages just freed, at a
// fraction of the kernel time (log/README.md, "Page cache").
//
// Writes zeros ahead of small syncs: an fdatasync that grows the file must
// also write its inode, one that overwrites allocated blocks need not, and
// on this project's test VM three concurrent 4 KiB fdatasyncs take ~0.7 ms
// overwriting against ~1.1 ms appending (log/README.md, "Zeros ahead").
class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string name, int fd, uint64_t size)
      : name_(std::move(name)),
        fd_(fd),
        size_(size),
        synced_(size),
        zeroed_(size),
        dropped_(size) {}
  ~PosixWritableFile() override { close(fd_); }

  Status Append(std::string_view data) override {
    while (!data.empty()) {
      ssize_t n =
          pwrite(fd_, data.data(), data.size(), static_cast<off_t>(size_));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("write", name_, errno);
      }
      data.remove_prefix(static_cast<size_t>(n));
      size_ += static_cast<uint64_t>(n);
    }
    zeroed_ = std::max(zeroed_, size_);
    return Status::Ok();
  }

  Status Sync() override {
    const uint64_t batch = size_ - synced_;
    PAXOSFS_RETURN_IF_ERROR(SyncData());
    // Large batches grow the file anyway, and zeros ahead of them would
    // double what they write: a run of small syncs must come first (a
    // stream of large values alternates them with small chosen marks).
    small_syncs_ = batch < kPosixZeroAheadBatchBytes ? small_syncs_ + 1 : 0;
    if (small_syncs_ >= kPosixZeroAheadAfterSyncs &&
        zeroed_ < size_ + kPosixZeroAheadBatchBytes) {
      ZeroAhead();
    }
    return Status::Ok();
  }

  Status Seal() override {
    PAXOSFS_RETURN_IF_ERROR(SyncData());
    if (zeroed_ == size_) return Status::Ok();
    if (ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
      return ErrnoStatus("ftruncate", name_, errno);
    }
    if (fsync(fd_) != 0) return ErrnoStatus("fsync", name_, errno);
    zeroed_ = size_;
    return Status::Ok();
  }

 private:
  static constexpr uint64_t kPageBytes = 4096;

  // fdatasync, then drops what is durable from the page cache: the advice
  // only frees clean pages, so it changes nothing durable. The step spreads
  // the call over many small appends.
  Status SyncData() {
    if (fdatasync(fd_) != 0) return ErrnoStatus("fdatasync", name_, errno);
    synced_ = size_;
    if (size_ < kPosixCacheLagBytes) return Status::Ok();
    const uint64_t end = (size_ - kPosixCacheLagBytes) & ~(kPageBytes - 1);
    if (end >= dropped_ + kPosixDropStepBytes) {
      (void)posix_fadvise(fd_, static_cast<off_t>(dropped_),
                          static_cast<off_t>(end - dropped_),
                          POSIX_FADV_DONTNEED);
      dropped_ = end;
    }
    return Status::Ok();
  }

  // Best effort, through the page cache: the zeros reach the disk with the
  // next fdatasync (one inode update per kPosixZeroAheadBytes instead of one
  // per sync), and the pages stay cached, so a partial-page write into them
  // reads nothing. A failure (a full disk) only ends the zeros for this
  // file: appends past them grow it as before.
  void ZeroAhead() {
    static const std::string zeros(kPosixZeroAheadBytes, '\0');
    const uint64_t target =
        (size_ + kPosixZeroAheadBytes + kPageBytes - 1) & ~(kPageBytes - 1);
    while (zero_ahead_ && zeroed_ < target) {
      ssize_t n = pwrite(fd_, zeros.data(),
                         std::min<uint64_t>(target - zeroed_, zeros.size()),
                         static_cast<off_t>(zeroed_));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        zero_ahead_ = false;
        break;
      }
      zeroed_ += static_cast<uint64_t>(n);
    }
  }

  const std::string name_;
  const int fd_;
  uint64_t size_;             // Bytes appended (the file's end without zeros).
  uint64_t synced_;           // Bytes made durable.
  uint64_t zeroed_;           // The file's size: appended bytes, then zeros.
  uint64_t dropped_;          // Bytes below this left the page cache.
  uint64_t small_syncs_ = 0;  // Syncs in a row of small batches.
  bool zero_ahead_ = true;    // False once a zero write failed.
};

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string name, int fd)
      : name_(std::move(name)), fd_(fd) {}
  ~PosixRandomAccessFile() override { close(fd_); }

  Status Read(uint64_t offset, size_t n, std::string* out) const override {
    out->resize(n);
    size_t done = 0;
    while (done < n) {
      ssize_t r = pread(fd_, out->data() + done, n - done,
                        static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("pread", name_, errno);
      }
      if (r == 0) break;  // End of file.
      done += static_cast<size_t>(r);
    }
    out->resize(done);
    return Status::Ok();
  }

 private:
  const std::string name_;
  const int fd_;
};

class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override { close(fd_); }  // Closing releases the flock.

 private:
  const int fd_;
};

class PosixEnvImpl final : public Env {
 public:
  StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& name) override {
    return OpenWritable(name, O_CREAT | O_TRUNC);
  }

  StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& name) override {
    return OpenWritable(name, 0);
  }

  StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& name) override {
    int fd = open(name.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open", name, errno);
    return std::unique_ptr<RandomAccessFile>(
        std::make_unique<PosixRandomAccessFile>(name, fd));
  }

  StatusOr<std::vector<std::string>> GetChildren(
      const std::string& dir) override {
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) return ErrnoStatus("opendir", dir, errno);
    std::vector<std::string> names;
    while (dirent* e = readdir(d)) {
      std::string_view n = e->d_name;
      if (n != "." && n != "..") names.emplace_back(n);
    }
    closedir(d);
    return names;
  }

  StatusOr<uint64_t> GetFileSize(const std::string& name) override {
    struct stat st;
    if (stat(name.c_str(), &st) != 0) return ErrnoStatus("stat", name, errno);
    return static_cast<uint64_t>(st.st_size);
  }

  Status RemoveFile(const std::string& name) override {
    if (unlink(name.c_str()) != 0) return ErrnoStatus("unlink", name, errno);
    return Status::Ok();
  }

  Status RenameFile(const std::string& from, const std::string& to) override {
    if (rename(from.c_str(), to.c_str()) != 0) {
      return ErrnoStatus("rename", from + " -> " + to, errno);
    }
    return Status::Ok();
  }

  Status TruncateFile(const std::string& name, uint64_t size) override {
    int fd = open(name.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open", name, errno);
    Status s;
    if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
      s = ErrnoStatus("ftruncate", name, errno);
    } else if (fsync(fd) != 0) {
      s = ErrnoStatus("fsync", name, errno);
    }
    close(fd);
    return s;
  }

  Status CreateDir(const std::string& dir) override {
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoStatus("mkdir", dir, errno);
    }
    return Status::Ok();
  }

  Status SyncDir(const std::string& dir) override {
    int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open", dir, errno);
    Status s;
    if (fsync(fd) != 0) s = ErrnoStatus("fsync", dir, errno);
    close(fd);
    return s;
  }

  // flock, not fcntl locks: fcntl locks belong to the process and vanish
  // when any descriptor of the file is closed, and a second open in the same
  // process would not conflict.
  StatusOr<std::unique_ptr<FileLock>> LockFile(
      const std::string& name) override {
    int fd = open(name.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoStatus("open", name, errno);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      close(fd);
      if (err == EWOULDBLOCK) {
        return Status::Unavailable(name + " is locked: another process is " +
                                   "using this log; stop it first");
      }
      return ErrnoStatus("flock", name, err);
    }
    return std::unique_ptr<FileLock>(std::make_unique<PosixFileLock>(fd));
  }

 private:
  static StatusOr<std::unique_ptr<WritableFile>> OpenWritable(
      const std::string& name, int flags) {
    int fd = open(name.c_str(), O_WRONLY | O_CLOEXEC | flags, 0644);
    if (fd < 0) return ErrnoStatus("open", name, errno);
    struct stat st;
    if (fstat(fd, &st) != 0) {
      int err = errno;
      close(fd);
      return ErrnoStatus("fstat", name, err);
    }
    return std::unique_ptr<WritableFile>(std::make_unique<PosixWritableFile>(
        name, fd, static_cast<uint64_t>(st.st_size)));
  }
};

}  // namespace

Env* PosixEnv() {
  static PosixEnvImpl* env = new PosixEnvImpl;
  return env;
}

}  // namespace paxosfs::log
