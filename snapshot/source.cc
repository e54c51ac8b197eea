// SnapshotSource: the catalog of snapshot files and the Fetch service. Each
// stream has a worker thread (disk, compression, pacing) and a
// ServerWriteReactor that only hands its chunks to gRPC.
#include <dirent.h>
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "common/logging.h"
#include "proto/snapshot.grpc.pb.h"
#include "snapshot/chunk.h"
#include "snapshot/files.h"
#include "snapshot/stream.h"

namespace paxosfs::snapshot {
namespace {

constexpr size_t kChunkBytesMax = 2 << 20;
// A joiner that reads nothing for this long is dropped, freeing its worker.
constexpr int64_t kWriteStallMaxMs = 120 * 1000;

struct Entry {
  std::string id;
  std::string path;
  SnapshotInfo info;
  int64_t created_ns = 0;
};

// What a stream's worker and its reactor share. The reactor may be gone
// once the worker has called Finish; the session outlives both.
struct Session {
  std::mutex mu;
  std::condition_variable cv;
  bool cancelled = false;      // Guarded by mu.
  bool write_pending = false;  // Guarded by mu.
  std::atomic<bool> exited{false};

  bool Cancelled() {
    std::lock_guard<std::mutex> lock(mu);
    return cancelled;
  }
  void Cancel() {
    std::lock_guard<std::mutex> lock(mu);
    cancelled = true;
    cv.notify_all();
  }
};

class FetchReactor final
    : public grpc::ServerWriteReactor<proto::SnapshotChunk> {
 public:
  explicit FetchReactor(std::shared_ptr<Session> session)
      : session_(std::move(session)) {}
  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(session_->mu);
    session_->write_pending = false;
    if (!ok) session_->cancelled = true;  // The stream broke.
    session_->cv.notify_all();
  }
  void OnCancel() override { session_->Cancel(); }
  void OnDone() override { delete this; }

  // Owned here, not by the worker: gRPC reads it until OnWriteDone.
  proto::SnapshotChunk chunk;

 private:
  std::shared_ptr<Session> session_;
};

std::string NewSnapshotId(uint64_t applied_index) {
  std::random_device random;
  uint64_t nonce = (uint64_t{random()} << 32) ^ random();
  char hex[17];
  snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(nonce));
  return std::to_string(applied_index) + "-" + hex;
}

class SourceImpl final : public SnapshotSource,
                         public proto::SnapshotService::CallbackService {
 public:
  explicit SourceImpl(SourceOptions options) : options_(std::move(options)) {}
  ~SourceImpl() override;

  Status Init();
  grpc::Service* service() override { return this; }
  SourceStats stats() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }
  void TEST_ForgetSnapshots() override;

  grpc::ServerWriteReactor<proto::SnapshotChunk>* Fetch(
      grpc::CallbackServerContext* context,
      const proto::FetchRequest* request) override;

 private:
  struct Worker {
    std::thread thread;
    std::shared_ptr<Session> session;
  };
  grpc::Status Serve(const proto::FetchRequest& request, FetchReactor* reactor,
                     Session* session);
  grpc::Status SendFrom(const Entry& entry, uint64_t offset,
                        FetchReactor* reactor, Session* session);
  // The requested snapshot if still kept, else a fresh (or fresh enough)
  // one, with the offset to start at.
  StatusOr<std::pair<Entry, uint64_t>> Acquire(
      const proto::FetchRequest& request, Session* session);
  StatusOr<Entry> NewSnapshot(Session* session);
  // Removes snapshots beyond max_kept or max_age, except `keep`.
  void Evict(const std::string& keep);
  // Waits `pace_ns` (the rate limit), then until the previous write is done
  // (at most kWriteStallMaxMs). False if the stream was cancelled.
  bool WaitReady(Session* session, int64_t pace_ns);
  void ReapExited(std::vector<Worker>* done);
  void CountRefused() {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.fetches_refused += 1;
  }

  const SourceOptions options_;
  // Serialises snapshot creation so concurrent joiners share one copy.
  // Held across the copy; only workers take it. Lock order: create_mu_,
  // then mu_.
  std::mutex create_mu_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;  // Guarded by mu_.
  std::vector<Worker> workers_;           // Guarded by mu_.
  SourceStats stats_;                     // Guarded by mu_.
  uint64_t file_counter_ = 0;             // Guarded by mu_.
};

SourceImpl::~SourceImpl() {
  std::vector<Worker> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    workers.swap(workers_);
  }
  for (Worker& w : workers) w.session->Cancel();
  for (Worker& w : workers) w.thread.join();
}

Status SourceImpl::Init() {
  if (options_.chunk_bytes == 0 || options_.chunk_bytes > kChunkBytesMax) {
    return Status::InvalidArgument("snapshot chunk_bytes must be 1.." +
                                   std::to_string(kChunkBytesMax));
  }
  if (::mkdir(options_.dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return ErrnoStatus("mkdir", options_.dir);
  }
  // Snapshots of an earlier run are unknown to this one: nobody can resume
  // them, so they only take space.
  DIR* dir = ::opendir(options_.dir.c_str());
  if (dir == nullptr) return ErrnoStatus("opendir", options_.dir);
  std::vector<std::string> stale;
  while (struct dirent* e = ::readdir(dir)) {
    std::string name = e->d_name;
    if (name.rfind("snap-", 0) == 0) stale.push_back(name);
  }
  ::closedir(dir);
  for (const std::string& name : stale) {
    PAXOSFS_RETURN_IF_ERROR(RemoveIfExists(options_.dir + "/" + name));
  }
  return Status::Ok();
}

void SourceImpl::TEST_ForgetSnapshots() {
  std::map<std::string, Entry> entries;
  {
    std::lock_guard<std::mutex> lock(mu_);
    entries.swap(entries_);
  }
  for (auto& [id, e] : entries) RemoveIfExists(e.path).ok();
}

void SourceImpl::ReapExited(std::vector<Worker>* done) {
  auto exited = [](const Worker& w) { return w.session->exited.load(); };
  auto it = std::stable_partition(workers_.begin(), workers_.end(),
                                  [&](const Worker& w) { return !exited(w); });
  for (auto i = it; i != workers_.end(); ++i) done->push_back(std::move(*i));
  workers_.erase(it, workers_.end());
}

grpc::ServerWriteReactor<proto::SnapshotChunk>* SourceImpl::Fetch(
    grpc::CallbackServerContext* context, const proto::FetchRequest* request) {
  auto session = std::make_shared<Session>();
  auto* reactor = new FetchReactor(session);
  if (request->cluster_id() != options_.cluster_id) {
    CountRefused();
    Logf(LogLevel::kWarning, "snapshot",
         "refused a snapshot fetch from %s for cluster '%s'",
         context->peer().c_str(), request->cluster_id().c_str());
    reactor->Finish(
        grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                     "this node belongs to cluster '" + options_.cluster_id +
                         "', not to cluster '" + request->cluster_id() +
                         "'; join through a member of your cluster"));
    return reactor;
  }
  std::vector<Worker> done;
  bool refused = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ReapExited(&done);
    refused = static_cast<int>(workers_.size()) >= options_.max_streams;
    if (!refused) {
      Session* raw = session.get();
      proto::FetchRequest copy = *request;
      workers_.push_back(Worker{std::thread([this, copy, reactor, raw] {
                                  grpc::Status status =
                                      Serve(copy, reactor, raw);
                                  // The last touch of the reactor: it may be
                                  // deleted right after.
                                  reactor->Finish(status);
                                  raw->exited = true;
                                }),
                                session});
    }
  }
  // Exited workers are joined outside mu_ (they have returned already).
  for (Worker& w : done) w.thread.join();
  if (refused) {
    CountRefused();
    reactor->Finish(grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        "this node already streams " + std::to_string(options_.max_streams) +
            " snapshots; retry later or join through another member"));
  }
  return reactor;
}

grpc::Status SourceImpl::Serve(const proto::FetchRequest& request,
                               FetchReactor* reactor, Session* session) {
  StatusOr<std::pair<Entry, uint64_t>> start = Acquire(request, session);
  if (!start.ok()) {
    if (start.status().code() == StatusCode::kAborted) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "fetch cancelled");
    }
    if (start.status().code() == StatusCode::kInvalidArgument) {
      return grpc::Status(grpc::StatusCode::OUT_OF_RANGE,
                          start.status().message());
    }
    Logf(LogLevel::kError, "snapshot", "cannot make a snapshot: %s",
         start.status().ToString().c_str());
    return grpc::Status(
        grpc::StatusCode::INTERNAL,
        "the sender cannot make a snapshot: " + start.status().ToString());
  }
  return SendFrom(start->first, start->second, reactor, session);
}

StatusOr<std::pair<Entry, uint64_t>> SourceImpl::Acquire(
    const proto::FetchRequest& request, Session* session) {
  if (!request.snapshot_id().empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(request.snapshot_id());
    if (it != entries_.end()) {
      if (request.from_offset() > it->second.info.total_bytes) {
        return Status::InvalidArgument(
            "offset " + std::to_string(request.from_offset()) +
            " is past the end of snapshot " + request.snapshot_id());
      }
      return std::make_pair(it->second, request.from_offset());
    }
  }
  StatusOr<Entry> entry = NewSnapshot(session);
  if (!entry.ok()) return entry.status();
  return std::make_pair(*entry, uint64_t{0});
}

StatusOr<Entry> SourceImpl::NewSnapshot(Session* session) {
  std::lock_guard<std::mutex> create_lock(create_mu_);
  int64_t now = options_.clock->MonotonicNanos();
  std::string path;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const Entry* newest = nullptr;
    for (auto& [id, e] : entries_) {
      if (newest == nullptr || e.created_ns > newest->created_ns) newest = &e;
    }
    if (newest != nullptr &&
        now - newest->created_ns < options_.reuse_ms * 1000000) {
      return *newest;
    }
    path = options_.dir + "/snap-" + std::to_string(++file_counter_) + ".db";
  }
  RemoveIfExists(path).ok();
  StatusOr<SnapshotInfo> info = CreateSnapshot(
      options_.store_path, path, [session] { return session->Cancelled(); });
  if (!info.ok()) return info.status();
  Entry entry{NewSnapshotId(info->applied_index), path, *info,
              options_.clock->MonotonicNanos()};
  Logf(LogLevel::kInfo, "snapshot",
       "made snapshot %s: %llu bytes at applied index %llu", entry.id.c_str(),
       static_cast<unsigned long long>(info->total_bytes),
       static_cast<unsigned long long>(info->applied_index));
  {
    std::lock_guard<std::mutex> lock(mu_);
    entries_[entry.id] = entry;
    stats_.snapshots_created += 1;
  }
  Evict(entry.id);
  return entry;
}

void SourceImpl::Evict(const std::string& keep) {
  std::vector<std::string> paths;
  {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t now = options_.clock->MonotonicNanos();
    std::vector<const Entry*> by_age;
    for (auto& [id, e] : entries_) {
      if (id != keep) by_age.push_back(&e);
    }
    std::sort(by_age.begin(), by_age.end(), [](const Entry* a, const Entry* b) {
      return a->created_ns > b->created_ns;  // Newest first.
    });
    std::vector<std::string> ids;
    for (size_t i = 0; i < by_age.size(); ++i) {
      bool too_many = static_cast<int>(i) + 1 >= options_.max_kept;
      bool too_old =
          now - by_age[i]->created_ns > options_.max_age_ms * 1000000;
      if (too_many || too_old) ids.push_back(by_age[i]->id);
    }
    for (const std::string& id : ids) {
      paths.push_back(entries_[id].path);
      entries_.erase(id);
    }
  }
  // A stream still sending an evicted file holds it open; unlinking only
  // drops its name.
  for (const std::string& p : paths) RemoveIfExists(p).ok();
}

bool SourceImpl::WaitReady(Session* session, int64_t pace_ns) {
  std::unique_lock<std::mutex> lock(session->mu);
  if (pace_ns > 0) {
    session->cv.wait_for(lock, std::chrono::nanoseconds(pace_ns),
                         [session] { return session->cancelled; });
  }
  bool ready = session->cv.wait_for(
      lock, std::chrono::milliseconds(kWriteStallMaxMs),
      [session] { return session->cancelled || !session->write_pending; });
  return ready && !session->cancelled;
}

grpc::Status SourceImpl::SendFrom(const Entry& entry, uint64_t offset,
                                  FetchReactor* reactor, Session* session) {
  int fd = ::open(entry.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        ErrnoStatus("open", entry.path).ToString());
  }
  TokenBucket bucket(options_.rate_bytes_per_s, options_.chunk_bytes,
                     options_.clock->MonotonicNanos());
  std::string raw(options_.chunk_bytes, '\0');
  grpc::Status result = grpc::Status::OK;
  const uint64_t total = entry.info.total_bytes;
  do {
    size_t want = static_cast<size_t>(
        std::min<uint64_t>(options_.chunk_bytes, total - offset));
    ssize_t n = ::pread(fd, raw.data(), want, static_cast<off_t>(offset));
    if (n != static_cast<ssize_t>(want)) {
      result = grpc::Status(grpc::StatusCode::INTERNAL,
                            "short read of snapshot file " + entry.path);
      break;
    }
    proto::SnapshotChunk chunk;
    EncodeChunk(std::string_view(raw.data(), want), options_.zstd_level,
                &chunk);
    if (options_.TEST_corrupt_chunk && options_.TEST_corrupt_chunk(offset) &&
        !chunk.data().empty()) {
      (*chunk.mutable_data())[chunk.data().size() / 2] ^= 0x10;
    }
    chunk.set_snapshot_id(entry.id);
    chunk.set_applied_index(entry.info.applied_index);
    chunk.set_offset(offset);
    chunk.set_total_bytes(total);
    offset += want;
    chunk.set_final(offset == total);
    if (chunk.final()) chunk.set_file_checksum(entry.info.file_checksum);
    int64_t pace_ns =
        bucket.Take(chunk.data().size(), options_.clock->MonotonicNanos());
    if (!WaitReady(session, pace_ns)) {
      result = grpc::Status(grpc::StatusCode::CANCELLED,
                            "the joiner cancelled or stopped reading");
      break;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.chunks_sent += 1;
      stats_.wire_bytes_sent += chunk.data().size();
      stats_.raw_bytes_sent += want;
    }
    {
      std::lock_guard<std::mutex> lock(session->mu);
      session->write_pending = true;
    }
    reactor->chunk = std::move(chunk);
    reactor->StartWrite(&reactor->chunk);
  } while (offset < total);
  ::close(fd);
  // Finish only once no write is outstanding: the last chunk must not be
  // cut off, and a cancelled write still reads reactor->chunk until done.
  std::unique_lock<std::mutex> lock(session->mu);
  bool drained =
      session->cv.wait_for(lock, std::chrono::milliseconds(kWriteStallMaxMs),
                           [session] { return !session->write_pending; });
  if (result.ok() && (!drained || session->cancelled)) {
    result = grpc::Status(grpc::StatusCode::CANCELLED, "the joiner cancelled");
  }
  return result;
}

}  // namespace

StatusOr<std::unique_ptr<SnapshotSource>> SnapshotSource::Create(
    SourceOptions options) {
  auto source = std::make_unique<SourceImpl>(std::move(options));
  PAXOSFS_RETURN_IF_ERROR(source->Init());
  return std::unique_ptr<SnapshotSource>(std::move(source));
}

}  // namespace paxosfs::snapshot
