#include "fuse/mount.h"

#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "common/logging.h"
#include "fuse/context.h"

namespace paxosfs::fuse {
namespace {

// Mount points in /proc/self/mountinfo escape spaces and the like as \ooo.
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      out.push_back(
          static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8)));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool IsMountPoint(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, mount_point;
    fields >> id >> parent >> dev >> root >> mount_point;
    if (Unescape(mount_point) == path) return true;
  }
  return false;
}

Status CheckMountPoint(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return Status::InvalidArgument("mount point " + path +
                                   " cannot be used: " + std::strerror(errno) +
                                   "; create it with: mkdir -p " + path);
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument("mount point " + path +
                                   " is not a directory");
  }
  if (IsMountPoint(path)) {
    return Status::AlreadyExists(
        "something is already mounted at " + path +
        " by a running process; stop it or choose another mount point");
  }
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) {
    return Status::InvalidArgument("cannot read mount point " + path + ": " +
                                   std::strerror(errno));
  }
  bool empty = true;
  while (dirent* e = readdir(dir)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      empty = false;
      break;
    }
  }
  closedir(dir);
  if (!empty) {
    return Status::InvalidArgument(
        "mount point " + path +
        " is not empty; its files would be hidden under the mount. Use an "
        "empty directory");
  }
  return Status::Ok();
}

struct Invalidation {
  bool entry = false;
  uint64_t ino = 0;  // The parent, for entries.
  int64_t offset = 0;
  int64_t length = 0;
  std::string name;
};

class MountImpl final : public Mount {
 public:
  MountImpl(const MountOptions& options, Backend* backend) : options_(options) {
    context_.backend = backend;
    context_.clock = options.clock;
  }
  ~MountImpl() override { Stop(); }

  Status Start();
  void Stop() override;

  void InvalidateInode(uint64_t ino, int64_t offset, int64_t length) override {
    // Attributes were dropped at the vote (Backend::CacheSeconds); only
    // pages are left, and only files read through the page cache have any.
    if (!context_.opened.MayHavePages(ino)) return;
    Queue({false, ino, offset, length, ""});
  }
  void InvalidateEntry(uint64_t parent, const std::string& name) override {
    Queue({true, parent, 0, 0, name});
  }
  bool DropCachedAttrs(uint64_t ino) override;
  bool DropCachedEntries() override;

 private:
  void Queue(Invalidation inv);
  void RunInvalidations();

  const MountOptions options_;
  Context context_;
  fuse_session* session_ = nullptr;
  std::thread loop_;
  std::thread invalidator_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Invalidation> pending_;  // Guarded by mu_.
  bool stopping_ = false;             // Guarded by mu_.
  bool stopped_ = false;              // Guarded by mu_.
};

// The sysfs readahead file of the filesystem mounted at `mount_point` (the
// last such mount in /proc/self/mountinfo), or "" if none is found.
std::string ReadaheadPath(const std::string& mount_point) {
  char* real = realpath(mount_point.c_str(), nullptr);
  if (real == nullptr) return "";
  std::string target = real;
  free(real);
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line, found;
  while (std::getline(mountinfo, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    fields >> id >> parent >> dev >> root >> point;
    if (point == target) found = dev;
  }
  return found.empty() ? "" : "/sys/class/bdi/" + found + "/read_ahead_kb";
}

// The kernel forgets invalidations beyond this many queued: past it we
// drop the oldest, which is safe because opens revalidate anyway.
constexpr size_t kInvalidationsMax = 65536;

// FUSE_NOTIFY_INC_EPOCH (kernel protocol 7.44, Linux 6.16): every name the
// kernel cached before it must be looked up again. libfuse 3.14 has no call
// for it, so the notification is written by hand.
constexpr int32_t kNotifyIncEpoch = 8;
constexpr uint32_t kIncEpochMinor = 44;

bool SendIncEpoch(int fd) {
  struct {
    uint32_t len;
    int32_t code;
    uint64_t unique;  // 0: a notification, not a reply.
  } header = {sizeof(header), kNotifyIncEpoch, 0};
  return write(fd, &header, sizeof(header)) ==
         static_cast<ssize_t>(sizeof(header));
}

void Init(void* userdata, fuse_conn_info* conn) {
  // Names may be cached only where they can be dropped without taking the
  // parent directory's lock (which a FUSE create in flight holds).
  static_cast<Context*>(userdata)->cache_entries =
      conn->proto_major > 7 ||
      (conn->proto_major == 7 && conn->proto_minor >= kIncEpochMinor);
  conn->max_write = 1 << 20;
  conn->max_read = 1 << 20;  // Must match the max_read mount option.
  // Readdirplus replies would need the lookups' tickets (Backend::
  // CacheTicket) to be cached safely; without them they buy nothing.
  conn->want &= ~FUSE_CAP_READDIRPLUS;
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

bool MountImpl::DropCachedAttrs(uint64_t ino) {
  // Under mu_: Stop waits for it before the session goes away.
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ || session_ == nullptr) return true;
  // A negative offset drops the attributes alone: the kernel then takes no
  // page lock, which a FUSE write in flight may hold.
  int rc = fuse_lowlevel_notify_inval_inode(session_, ino, -1, 0);
  if (rc == -ENOENT) return false;
  if (rc != 0) {
    Logf(LogLevel::kWarning, "fuse",
         "cannot drop cached attributes of %llu: %s",
         static_cast<unsigned long long>(ino), std::strerror(-rc));
  }
  return true;
}

bool MountImpl::DropCachedEntries() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ || session_ == nullptr || !context_.cache_entries) return true;
  if (SendIncEpoch(fuse_session_fd(session_))) return true;
  // Without it a cached name could outlive a change: cache names no more.
  context_.cache_entries = false;
  Logf(LogLevel::kError, "fuse",
       "the kernel refused to drop cached names (%s); names are no longer "
       "cached",
       std::strerror(errno));
  return false;
}

Status MountImpl::Start() {
  PAXOSFS_RETURN_IF_ERROR(PrepareMountPoint(options_.mount_point));
  fuse_lowlevel_ops ops = {};
  ops.init = Init;
  AddNamespaceOps(&ops);
  AddDataOps(&ops);
  std::string mount_options =
      "fsname=paxosfs,subtype=paxosfs,default_permissions,max_read=1048576";
  if (options_.allow_other) mount_options += ",allow_other";
  std::vector<const char*> argv = {"paxosfs", "-o", mount_options.c_str()};
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()),
                                  const_cast<char**>(argv.data()));
  session_ = fuse_session_new(&args, &ops, sizeof(ops), &context_);
  // The session copied what it needs; libfuse may have grown args.
  fuse_opt_free_args(&args);
  if (session_ == nullptr) {
    return Status::InvalidArgument(
        "cannot create a FUSE session (options: " + mount_options + ")");
  }
  if (fuse_session_mount(session_, options_.mount_point.c_str()) != 0) {
    fuse_session_destroy(session_);
    session_ = nullptr;
    return Status::Unavailable(
        "cannot mount FUSE at " + options_.mount_point +
        ": check that /dev/fuse exists, the fuse3 package is installed and, "
        "for allow_other as non-root, user_allow_other in /etc/fuse.conf");
  }
  context_.readahead_path = ReadaheadPath(options_.mount_point);
  invalidator_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "fuse-inval");
    RunInvalidations();
  });
  loop_ = std::thread([this] {
    fuse_loop_config* config = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(config,
                                  static_cast<unsigned>(options_.max_threads));
    fuse_loop_cfg_set_clone_fd(config, 1);
    // Keep workers alive between requests: libfuse's default lets idle
    // workers exit, and then every request pays for a new thread.
    fuse_loop_cfg_set_idle_threads(config,
                                   static_cast<unsigned>(options_.max_threads));
    fuse_session_loop_mt(session_, config);
    fuse_loop_cfg_destroy(config);
  });
  Logf(LogLevel::kInfo, "fuse", "mounted at %s", options_.mount_point.c_str());
  return Status::Ok();
}

void MountImpl::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
  }
  cv_.notify_all();
  if (invalidator_.joinable()) invalidator_.join();
  if (session_ == nullptr) return;
  fuse_session_exit(session_);
  // Unmounting ends the workers' blocking reads of /dev/fuse.
  fuse_session_unmount(session_);
  if (loop_.joinable()) loop_.join();
  fuse_session_destroy(session_);
  session_ = nullptr;
  Logf(LogLevel::kInfo, "fuse", "unmounted %s", options_.mount_point.c_str());
}

void MountImpl::Queue(Invalidation inv) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    if (pending_.size() >= kInvalidationsMax) pending_.pop_front();
    pending_.push_back(std::move(inv));
  }
  cv_.notify_one();
}

void MountImpl::RunInvalidations() {
  for (;;) {
    Invalidation inv;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (stopping_) return;
      inv = std::move(pending_.front());
      pending_.pop_front();
    }
    // ENOENT only means the kernel holds nothing for it.
    if (inv.entry) {
      fuse_lowlevel_notify_inval_entry(session_, inv.ino, inv.name.c_str(),
                                       inv.name.size());
    } else {
      fuse_lowlevel_notify_inval_inode(session_, inv.ino, inv.offset,
                                       inv.length);
    }
  }
}

// A FUSE mount whose daemon died answers ENOTCONN. statfs, not stat: the
// kernel may answer a stat of the root from its attribute cache for a
// while after the daemon died (a leader's cache lasts up to a second), but
// always asks the daemon for statfs.
bool IsStaleMount(const std::string& path) {
  struct statvfs st;
  return statvfs(path.c_str(), &st) != 0 && errno == ENOTCONN;
}

// Detaches a stale mount at `path`; OK if there is none.
Status DetachStaleMount(const std::string& path) {
  if (!IsStaleMount(path)) return Status::Ok();
  if (umount2(path.c_str(), MNT_DETACH) != 0) {
    return Status::IOError("a dead FUSE mount is left at " + path +
                           " and cannot be detached (" + std::strerror(errno) +
                           "); run: fusermount3 -uz " + path);
  }
  Logf(LogLevel::kWarning, "fuse",
       "detached a stale mount at %s left by a process that died",
       path.c_str());
  return Status::Ok();
}

}  // namespace

Status PrepareMountPoint(const std::string& path) {
  PAXOSFS_RETURN_IF_ERROR(DetachStaleMount(path));
  return CheckMountPoint(path);
}

Status CheckMountPointEarly(const std::string& path) {
  if (IsStaleMount(path)) return Status::Ok();
  return CheckMountPoint(path);
}

StatusOr<std::unique_ptr<Mount>> Mount::Start(const MountOptions& options,
                                              Backend* backend) {
  auto mount = std::make_unique<MountImpl>(options, backend);
  PAXOSFS_RETURN_IF_ERROR(mount->Start());
  return std::unique_ptr<Mount>(std::move(mount));
}

}  // namespace paxosfs::fuse
