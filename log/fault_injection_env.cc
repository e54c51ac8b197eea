#include "log/fault_injection_env.h"

#include <algorithm>

namespace paxosfs::log {
namespace {

std::string ParentDir(const std::string& name) {
  size_t slash = name.rfind('/');
  return slash == std::string::npos ? "." : name.substr(0, slash);
}

}  // namespace

// The file's bytes are `data`: what was appended, [0, end), then zeros
// written ahead (WriteZerosAhead). [0, synced) and the zeros up to
// durable_size survive a crash.
struct FaultInjectionEnv::Inode {
  std::string data;
  uint64_t end = 0;
  uint64_t synced = 0;
  uint64_t durable_size = 0;
};

class FaultInjectionEnv::File final : public WritableFile,
                                      public RandomAccessFile {
 public:
  File(FaultInjectionEnv* env, std::shared_ptr<Inode> inode)
      : env_(env), inode_(std::move(inode)) {}

  Status Append(std::string_view data) override {
    return env_->AppendTo(inode_, data);
  }
  Status Sync() override { return env_->SyncInode(inode_); }
  Status Seal() override { return env_->SealInode(inode_); }

  Status Read(uint64_t offset, size_t n, std::string* out) const override {
    std::lock_guard<std::mutex> lock(env_->mu_);
    if (env_->Dead()) return Status::IOError("read: simulated crash");
    const std::string& data = inode_->data;
    uint64_t start = std::min<uint64_t>(offset, data.size());
    out->assign(data, start, std::min<uint64_t>(n, data.size() - start));
    return Status::Ok();
  }

 private:
  FaultInjectionEnv* const env_;
  const std::shared_ptr<Inode> inode_;
};

class FaultInjectionEnv::Lock final : public FileLock {
 public:
  Lock(FaultInjectionEnv* env, std::string name, uint64_t generation)
      : env_(env), name_(std::move(name)), generation_(generation) {}
  ~Lock() override {
    std::lock_guard<std::mutex> lock(env_->mu_);
    auto it = env_->locked_.find(name_);
    if (it != env_->locked_.end() && it->second == generation_) {
      env_->locked_.erase(it);
    }
  }

 private:
  FaultInjectionEnv* const env_;
  const std::string name_;
  const uint64_t generation_;
};

FaultInjectionEnv::FaultInjectionEnv() = default;
FaultInjectionEnv::~FaultInjectionEnv() = default;

bool FaultInjectionEnv::Dead() const {
  return crash_at_op_ && ops_ >= *crash_at_op_;
}

Status FaultInjectionEnv::BeginOp(std::string_view what) const {
  if (Dead()) {
    return Status::IOError(std::string(what) + ": simulated crash");
  }
  ++ops_;
  return Status::Ok();
}

StatusOr<std::shared_ptr<FaultInjectionEnv::Inode>> FaultInjectionEnv::Find(
    const std::string& name) const {
  auto it = live_.find(name);
  if (it == live_.end()) return Status::NotFound(name + ": no such file");
  return it->second;
}

StatusOr<std::unique_ptr<WritableFile>> FaultInjectionEnv::NewWritableFile(
    const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  PAXOSFS_RETURN_IF_ERROR(BeginOp("create " + name));
  if (!dirs_.contains(ParentDir(name))) {
    return Status::NotFound("create " + name + ": no such directory");
  }
  auto inode = std::make_shared<Inode>();
  live_[name] = inode;
  return std::unique_ptr<WritableFile>(std::make_unique<File>(this, inode));
}

StatusOr<std::unique_ptr<WritableFile>> FaultInjectionEnv::NewAppendableFile(
    const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  PAXOSFS_RETURN_IF_ERROR(BeginOp("open " + name));
  StatusOr<std::shared_ptr<Inode>> inode = Find(name);
  if (!inode.ok()) return inode.status();
  // Appends go after everything the file holds, zeros included.
  Inode& i = **inode;
  if (i.synced == i.end) i.synced = i.data.size();
  i.end = i.data.size();
  return std::unique_ptr<WritableFile>(std::make_unique<File>(this, *inode));
}

StatusOr<std::unique_ptr<RandomAccessFile>>
FaultInjectionEnv::NewRandomAccessFile(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Dead()) return Status::IOError("open " + name + ": simulated crash");
  StatusOr<std::shared_ptr<Inode>> inode = Find(name);
  if (!inode.ok()) return inode.status();
  return std::unique_ptr<RandomAccessFile>(
      std::make_unique<File>(this, *inode));
}

StatusOr<std::vector<std::string>> FaultInjectionEnv::GetChildren(
    const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!dirs_.contains(dir)) return Status::NotFound(dir + ": no such dir");
  std::vector<std::string> names;
  for (const auto& [name, inode] : live_) {
    if (ParentDir(name) == dir) names.push_back(name.substr(dir.size() + 1));
  }
  return names;
}

StatusOr<uint64_t> FaultInjectionEnv::GetFileSize(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  StatusOr<std::shared_ptr<Inode>> inode = Find(name);
  if (!inode.ok()) return inode.status();
  return static_cast<uint64_t>((*inode)->data.size());
}

Status FaultInjectionEnv::RemoveFile(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  PAXOSFS_RETURN_IF_ERROR(BeginOp("remove " + name));
  if (live_.erase(name) == 0) return Status::NotFound(name + ": no such file");
  return Status::Ok();
}

Status FaultInjectionEnv::RenameFile(const std::string& from,
                                     const std::string& to) {
  std::lock_guard<std::mutex> lock(mu_);
  PAXOSFS_RETURN_IF_ERROR(BeginOp("rename " + from));
  StatusOr<std::shared_ptr<Inode>> inode = Find(from);
  if (!inode.ok()) return inode.status();
  live_.erase(from);
  live_[to] = *inode;
  return Status::Ok();
}

Status FaultInjectionEnv::TruncateFile(const std::string& name, uint64_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  PAXOSFS_RETURN_IF_ERROR(BeginOp("truncate " + name));
  StatusOr<std::shared_ptr<Inode>> inode = Find(name);
  if (!inode.ok()) return inode.status();
  if (fail_syncs_) return Status::IOError("fsync " + name + ": injected");
  Inode& i = **inode;
  i.data.resize(std::min<uint64_t>(size, i.data.size()));
  i.end = std::min<uint64_t>(i.end, i.data.size());
  i.synced = i.end;
  i.durable_size = i.data.size();
  return Status::Ok();
}

Status FaultInjectionEnv::CreateDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  PAXOSFS_RETURN_IF_ERROR(BeginOp("mkdir " + dir));
  dirs_.insert(dir);
  return Status::Ok();
}

Status FaultInjectionEnv::SyncDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  PAXOSFS_RETURN_IF_ERROR(BeginOp("fsync " + dir));
  if (fail_syncs_) return Status::IOError("fsync " + dir + ": injected");
  std::erase_if(durable_,
                [&](const auto& e) { return ParentDir(e.first) == dir; });
  for (const auto& [name, inode] : live_) {
    if (ParentDir(name) == dir) durable_[name] = inode;
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<FileLock>> FaultInjectionEnv::LockFile(
    const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Dead()) return Status::IOError("lock " + name + ": simulated crash");
  uint64_t generation = ++lock_generation_;
  if (!locked_.try_emplace(name, generation).second) {
    return Status::Unavailable(name + " is locked");
  }
  return std::unique_ptr<FileLock>(
      std::make_unique<Lock>(this, name, generation));
}

Status FaultInjectionEnv::AppendTo(const std::shared_ptr<Inode>& inode,
                                   std::string_view data) {
  std::lock_guard<std::mutex> lock(mu_);
  PAXOSFS_RETURN_IF_ERROR(BeginOp("append"));
  if (appends_until_failure_ > 0 && --appends_until_failure_ == 0) {
    return append_failure_;
  }
  Inode& i = *inode;
  i.data.replace(i.end, std::min(data.size(), i.data.size() - i.end), data);
  i.end += data.size();
  return Status::Ok();
}

Status FaultInjectionEnv::SyncInode(const std::shared_ptr<Inode>& inode) {
  std::lock_guard<std::mutex> lock(mu_);
  PAXOSFS_RETURN_IF_ERROR(BeginOp("fdatasync"));
  if (fail_syncs_) return Status::IOError("fdatasync: injected failure");
  Inode& i = *inode;
  i.synced = i.end;
  if (zeros_ahead_ > 0) {
    uint64_t ahead = (i.end + zeros_ahead_ + kDiskSectorBytes - 1) /
                     kDiskSectorBytes * kDiskSectorBytes;
    if (i.data.size() < ahead) i.data.resize(ahead, '\0');
  }
  i.durable_size = i.data.size();
  return Status::Ok();
}

Status FaultInjectionEnv::SealInode(const std::shared_ptr<Inode>& inode) {
  PAXOSFS_RETURN_IF_ERROR(SyncInode(inode));
  std::lock_guard<std::mutex> lock(mu_);
  PAXOSFS_RETURN_IF_ERROR(BeginOp("seal"));
  Inode& i = *inode;
  i.data.resize(i.end);
  i.durable_size = i.end;
  return Status::Ok();
}

void FaultInjectionEnv::WriteZerosAhead(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  zeros_ahead_ = bytes;
}

void FaultInjectionEnv::FailNthAppend(int n, Status status) {
  PAXOSFS_CHECK(n > 0);
  PAXOSFS_CHECK(!status.ok());
  std::lock_guard<std::mutex> lock(mu_);
  appends_until_failure_ = n;
  append_failure_ = std::move(status);
}

void FaultInjectionEnv::FailSyncs(bool fail) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_syncs_ = fail;
}

void FaultInjectionEnv::CrashAfterOps(int64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  crash_at_op_ = ops_ + n;
}

void FaultInjectionEnv::ClearFaults() {
  std::lock_guard<std::mutex> lock(mu_);
  appends_until_failure_ = 0;
  fail_syncs_ = false;
  crash_at_op_.reset();
}

void FaultInjectionEnv::FlipBit(const std::string& name, uint64_t offset,
                                int bit) {
  PAXOSFS_CHECK(bit >= 0 && bit < 8);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(name);
  PAXOSFS_CHECK(it != live_.end());
  PAXOSFS_CHECK(offset < it->second->data.size());
  it->second->data[offset] ^= static_cast<char>(1 << bit);
}

void FaultInjectionEnv::SimulateCrash(const std::string& torn_file,
                                      uint64_t torn_keep_bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  auto lose_unsynced = [&](const std::string& name, Inode& inode) {
    uint64_t keep = name == torn_file ? torn_keep_bytes : 0;
    keep = std::min<uint64_t>(keep, inode.end - inode.synced);
    uint64_t end = inode.synced + keep;
    // Written over zeros, what is kept is whole sectors: the rest of the
    // torn write reads as the zeros it replaced.
    if (zeros_ahead_ > 0) {
      end = std::max(inode.synced, end / kDiskSectorBytes * kDiskSectorBytes);
    }
    inode.data.resize(std::max(end, inode.durable_size));
    std::fill(inode.data.begin() + static_cast<std::ptrdiff_t>(end),
              inode.data.end(), '\0');
    inode.end = inode.synced = end;
    inode.durable_size = inode.data.size();
  };
  // The torn file is named as the test sees it, live or durable.
  for (auto& [name, inode] : live_) lose_unsynced(name, *inode);
  for (auto& [name, inode] : durable_) lose_unsynced(name, *inode);
  live_ = durable_;
  locked_.clear();
  appends_until_failure_ = 0;
  fail_syncs_ = false;
  crash_at_op_.reset();
}

int64_t FaultInjectionEnv::mutating_ops() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ops_;
}

uint64_t FaultInjectionEnv::UnsyncedBytes(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(name);
  PAXOSFS_CHECK(it != live_.end());
  return it->second->end - it->second->synced;
}

}  // namespace paxosfs::log
