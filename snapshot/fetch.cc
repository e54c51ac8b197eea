// FetchAndInstall: the joiner's side of the snapshot stream. Received bytes
// go to DIR/snapshot.partial; DIR/snapshot.progress records how many of
// them are durable and of which snapshot, so a restarted joiner resumes.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <sstream>

#include "common/checksum.h"
#include "proto/snapshot.grpc.pb.h"
#include "snapshot/chunk.h"
#include "snapshot/files.h"
#include "snapshot/stream.h"

namespace paxosfs::snapshot {
namespace {

constexpr const char* kProgressMagic = "paxosfs-snapshot-progress 1";
constexpr int kMessageBytesMax = 16 << 20;

// The durable part of a fetch, as snapshot.progress records it.
struct Partial {
  std::string snapshot_id;
  uint64_t applied_index = 0;
  uint64_t offset = 0;  // Bytes of snapshot.partial that are fsynced.
  uint64_t total_bytes = 0;
};

std::string EncodeProgress(const Partial& p) {
  std::string body = std::string(kProgressMagic) + "\n" + p.snapshot_id + "\n" +
                     std::to_string(p.applied_index) + "\n" +
                     std::to_string(p.offset) + "\n" +
                     std::to_string(p.total_bytes) + "\n";
  return body + std::to_string(Checksum64(body)) + "\n";
}

std::optional<Partial> DecodeProgress(const std::string& text) {
  size_t last = text.rfind('\n', text.size() >= 2 ? text.size() - 2 : 0);
  if (last == std::string::npos) return std::nullopt;
  std::string body = text.substr(0, last + 1);
  std::istringstream in(text);
  std::string magic, id, sum;
  Partial p;
  if (!std::getline(in, magic) || magic != kProgressMagic) return std::nullopt;
  if (!std::getline(in, id) ||
      !(in >> p.applied_index >> p.offset >> p.total_bytes >> sum)) {
    return std::nullopt;
  }
  if (sum != std::to_string(Checksum64(body))) return std::nullopt;
  if (p.offset > p.total_bytes) return std::nullopt;
  p.snapshot_id = id;
  return p;
}

class Fetcher {
 public:
  Fetcher(const std::string& peer, const std::string& cluster_id,
          const std::string& data_dir, const std::string& store_path,
          const ProgressCallback& progress, const FetchOptions& options)
      : peer_(peer),
        cluster_id_(cluster_id),
        partial_path_(data_dir + "/snapshot.partial"),
        progress_path_(data_dir + "/snapshot.progress"),
        store_path_(store_path),
        progress_(progress),
        options_(options),
        deadline_(std::chrono::system_clock::now() +
                  std::chrono::milliseconds(options.timeout_ms)),
        start_ns_(SystemClock::Instance().MonotonicNanos()) {}
  ~Fetcher() {
    if (fd_ >= 0) ::close(fd_);
  }

  StatusOr<InstallResult> Run();

 private:
  enum class Outcome { kComplete, kRetry };
  Status LoadPartial();
  Status StartOver(const std::string& note);
  StatusOr<Outcome> StreamOnce();
  Status HandleChunk(const proto::SnapshotChunk& chunk, bool first);
  Status CheckFirstChunk(const proto::SnapshotChunk& chunk);
  StatusOr<Outcome> OnStreamEnd(const grpc::Status& status);
  Status Persist();
  void Report(const std::string& note);

  const std::string peer_, cluster_id_, partial_path_, progress_path_;
  const std::string store_path_;
  const ProgressCallback& progress_;
  const FetchOptions& options_;
  const std::chrono::system_clock::time_point deadline_;
  const int64_t start_ns_;
  int fd_ = -1;
  Partial state_;
  uint64_t received_ = 0;  // Bytes written to the partial file (synced or not).
  uint64_t unsynced_ = 0;
  uint64_t file_checksum_ = 0;
  bool complete_ = false;
  int chunks_this_call_ = 0;
  std::string last_error_;
  InstallResult result_;
};

StatusOr<InstallResult> Fetcher::Run() {
  PAXOSFS_RETURN_IF_ERROR(LoadPartial());
  int retries = 0;
  for (;;) {
    StatusOr<Outcome> outcome = StreamOnce();
    if (!outcome.ok()) return outcome.status();
    if (*outcome == Outcome::kComplete) break;
    if (++retries > options_.max_corrupt_retries) {
      return Status::Corruption(last_error_ + "; gave up after " +
                                std::to_string(options_.max_corrupt_retries) +
                                " refetches: check the network and the "
                                "sender's disk, or join through another node");
    }
  }
  ::close(fd_);
  fd_ = -1;
  SnapshotInfo expected{state_.applied_index, state_.total_bytes,
                        file_checksum_};
  StatusOr<uint64_t> applied =
      InstallSnapshot(partial_path_, store_path_, expected, options_.install);
  if (!applied.ok()) {
    // A file that fails its checks is useless; the next try starts over.
    if (applied.status().code() == StatusCode::kCorruption) {
      RemoveIfExists(partial_path_).ok();
      RemoveIfExists(progress_path_).ok();
    }
    return applied.status();
  }
  PAXOSFS_RETURN_IF_ERROR(RemoveIfExists(progress_path_));
  PAXOSFS_RETURN_IF_ERROR(SyncPath(DirName(progress_path_)));
  result_.applied_index = *applied;
  result_.snapshot_id = state_.snapshot_id;
  result_.total_bytes = state_.total_bytes;
  return result_;
}

Status Fetcher::LoadPartial() {
  fd_ = ::open(partial_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) return ErrnoStatus("open", partial_path_);
  if (!FileExists(progress_path_)) return StartOver("");
  StatusOr<std::string> text = ReadSmallFile(progress_path_);
  if (!text.ok()) return text.status();
  std::optional<Partial> p = DecodeProgress(*text);
  if (!p) {
    return StartOver("starting over: the progress file " + progress_path_ +
                     " is unreadable");
  }
  struct stat st;
  if (::fstat(fd_, &st) != 0) return ErrnoStatus("stat", partial_path_);
  if (static_cast<uint64_t>(st.st_size) < p->offset) {
    return StartOver("starting over: " + partial_path_ +
                     " is shorter than its progress record");
  }
  // Bytes past the recorded offset were never known to be durable.
  if (::ftruncate(fd_, static_cast<off_t>(p->offset)) != 0) {
    return ErrnoStatus("truncate", partial_path_);
  }
  state_ = *p;
  received_ = p->offset;
  return Status::Ok();
}

Status Fetcher::StartOver(const std::string& note) {
  if (::ftruncate(fd_, 0) != 0) return ErrnoStatus("truncate", partial_path_);
  PAXOSFS_RETURN_IF_ERROR(RemoveIfExists(progress_path_));
  state_ = Partial();
  received_ = 0;
  unsynced_ = 0;
  if (!note.empty()) Report(note);
  return Status::Ok();
}

StatusOr<Fetcher::Outcome> Fetcher::StreamOnce() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMessageBytesMax);
  if (!options_.ssl_target_name.empty()) {
    args.SetSslTargetNameOverride(options_.ssl_target_name);
  }
  auto stub = proto::SnapshotService::NewStub(grpc::CreateCustomChannel(
      peer_,
      options_.credentials ? options_.credentials
                           : grpc::InsecureChannelCredentials(),
      args));
  grpc::ClientContext context;
  context.set_deadline(deadline_);
  proto::FetchRequest request;
  request.set_cluster_id(cluster_id_);
  request.set_snapshot_id(state_.snapshot_id);
  request.set_from_offset(state_.offset);
  std::unique_ptr<grpc::ClientReader<proto::SnapshotChunk>> reader =
      stub->Fetch(&context, request);
  proto::SnapshotChunk chunk;
  Status chunk_status;
  bool first = true;
  while (!complete_ && reader->Read(&chunk)) {
    chunk_status = HandleChunk(chunk, first);
    first = false;
    if (!chunk_status.ok()) break;
    ++chunks_this_call_;
    if (options_.TEST_stop_after_chunks > 0 &&
        chunks_this_call_ >= options_.TEST_stop_after_chunks) {
      chunk_status =
          Status::Aborted("stopped after " + std::to_string(chunks_this_call_) +
                          " chunks (test)");
      break;
    }
  }
  if (!chunk_status.ok()) context.TryCancel();
  grpc::Status status = reader->Finish();
  if (chunk_status.code() == StatusCode::kCorruption) {
    // Keep every verified byte, then ask again from there.
    PAXOSFS_RETURN_IF_ERROR(Persist());
    last_error_ = chunk_status.message();
    Report(last_error_ + "; refetching from byte " +
           std::to_string(state_.offset));
    return Outcome::kRetry;
  }
  if (!chunk_status.ok()) return chunk_status;
  if (complete_) return Outcome::kComplete;
  return OnStreamEnd(status);
}

StatusOr<Fetcher::Outcome> Fetcher::OnStreamEnd(const grpc::Status& status) {
  const std::string& why = status.error_message();
  switch (status.error_code()) {
    case grpc::StatusCode::OK:
      return Status::Unavailable("the sender at " + peer_ +
                                 " ended the stream before the last chunk; "
                                 "retry to resume");
    case grpc::StatusCode::FAILED_PRECONDITION:
      return Status::InvalidArgument("the node at " + peer_ +
                                     " refused the snapshot: " + why);
    case grpc::StatusCode::OUT_OF_RANGE:
      last_error_ = why;
      PAXOSFS_RETURN_IF_ERROR(StartOver("starting over: " + why));
      return Outcome::kRetry;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Status::TimedOut(
          "fetching a snapshot from " + peer_ + " took longer than " +
          std::to_string(options_.timeout_ms) + " ms; retry to resume");
    default:
      return Status::Unavailable("cannot fetch a snapshot from " + peer_ +
                                 ": " + why +
                                 "; check the address and that the node "
                                 "runs, then retry to resume");
  }
}

Status Fetcher::CheckFirstChunk(const proto::SnapshotChunk& chunk) {
  if (chunk.snapshot_id() == state_.snapshot_id) {
    if (state_.offset > 0) {
      result_.resumed = true;
      Report("resuming snapshot " + state_.snapshot_id + " at byte " +
             std::to_string(state_.offset));
    }
    return Status::Ok();
  }
  if (!state_.snapshot_id.empty()) {
    result_.started_over = true;
    PAXOSFS_RETURN_IF_ERROR(
        StartOver("starting over: the sender no longer has snapshot " +
                  state_.snapshot_id +
                  " (it restarted or dropped it); fetching snapshot " +
                  chunk.snapshot_id() + " from the start"));
  }
  state_.snapshot_id = chunk.snapshot_id();
  state_.applied_index = chunk.applied_index();
  state_.total_bytes = chunk.total_bytes();
  return Status::Ok();
}

Status Fetcher::HandleChunk(const proto::SnapshotChunk& chunk, bool first) {
  if (first) PAXOSFS_RETURN_IF_ERROR(CheckFirstChunk(chunk));
  if (chunk.snapshot_id() != state_.snapshot_id ||
      chunk.offset() != received_ ||
      chunk.total_bytes() != state_.total_bytes ||
      chunk.offset() + chunk.raw_len() > state_.total_bytes) {
    return Status::Corruption(
        "the sender sent bytes " + std::to_string(chunk.offset()) + "+" +
        std::to_string(chunk.raw_len()) + " of snapshot " +
        chunk.snapshot_id() + ", expected byte " + std::to_string(received_) +
        " of " + state_.snapshot_id);
  }
  StatusOr<std::string> raw = DecodeChunk(chunk);
  if (!raw.ok()) return raw.status();
  size_t done = 0;
  while (done < raw->size()) {
    ssize_t n = ::pwrite(fd_, raw->data() + done, raw->size() - done,
                         static_cast<off_t>(received_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("write", partial_path_);
    done += static_cast<size_t>(n);
  }
  received_ += raw->size();
  unsynced_ += raw->size();
  result_.bytes_received += raw->size();
  result_.wire_bytes += chunk.data().size();
  if (chunk.final()) {
    if (received_ != state_.total_bytes) {
      return Status::Corruption("the final chunk of " + state_.snapshot_id +
                                " ends at byte " + std::to_string(received_) +
                                " of " + std::to_string(state_.total_bytes));
    }
    file_checksum_ = chunk.file_checksum();
    complete_ = true;
  }
  if (complete_ || unsynced_ >= options_.sync_every_bytes) {
    PAXOSFS_RETURN_IF_ERROR(Persist());
  }
  Report("");
  return Status::Ok();
}

Status Fetcher::Persist() {
  if (state_.snapshot_id.empty()) return Status::Ok();
  if (::fdatasync(fd_) != 0) return ErrnoStatus("fsync", partial_path_);
  state_.offset = received_;
  unsynced_ = 0;
  return WriteFileDurably(progress_path_, EncodeProgress(state_));
}

void Fetcher::Report(const std::string& note) {
  if (!progress_) return;
  FetchProgress p;
  p.bytes_done = received_;
  p.total_bytes = state_.total_bytes;
  double elapsed_s = static_cast<double>(
                         SystemClock::Instance().MonotonicNanos() - start_ns_) *
                     1e-9;
  if (elapsed_s > 0) {
    p.rate_bytes_per_s =
        static_cast<double>(result_.bytes_received) / elapsed_s;
  }
  if (p.rate_bytes_per_s > 0 && p.total_bytes >= p.bytes_done) {
    p.eta_s =
        static_cast<double>(p.total_bytes - p.bytes_done) / p.rate_bytes_per_s;
  }
  p.note = note;
  progress_(p);
}

}  // namespace

StatusOr<InstallResult> FetchAndInstall(const std::string& peer_address,
                                        const std::string& cluster_id,
                                        const std::string& data_dir,
                                        const std::string& store_path,
                                        const ProgressCallback& progress,
                                        const FetchOptions& options) {
  Fetcher fetcher(peer_address, cluster_id, data_dir, store_path, progress,
                  options);
  return fetcher.Run();
}

}  // namespace paxosfs::snapshot
