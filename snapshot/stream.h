// Snapshots of the store for joining nodes: creation from a live store,
// streaming over gRPC (SnapshotService in proto/snapshot.proto), resumable
// fetching and atomic installation. The method, the wire format and the
// files on disk are described in snapshot/README.md.
//
// Sender: a SnapshotSource owns a directory of snapshot files and serves
// them; register service() with the node's gRPC server (the peer transport
// takes extra services). Joiner: FetchAndInstall streams one into its data
// directory and renames it over the store path.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/status.h"

namespace grpc {
class ChannelCredentials;
class Service;
}  // namespace grpc

namespace paxosfs::snapshot {

// A complete snapshot file: what the meta row inside it says, its size and
// the XXH3-64 of all its bytes.
struct SnapshotInfo {
  uint64_t applied_index = 0;
  uint64_t total_bytes = 0;
  uint64_t file_checksum = 0;
};

// Copies the store at `store_path` as of one committed transaction into a
// new file `out_path` (which must not exist), without blocking the store's
// writer: the copy runs in one SQLite read transaction (WAL mode), page by
// page, with a bounded page cache. `cancelled` (may be null) is polled
// between steps of `step_pages` pages; when it returns true the copy stops
// with kAborted and `out_path` is removed.
// Thread safety: reentrant; any number may run beside the writer.
StatusOr<SnapshotInfo> CreateSnapshot(
    const std::string& store_path, const std::string& out_path,
    const std::function<bool()>& cancelled = nullptr, int step_pages = 256);

// Crash points inside InstallSnapshot, for tests: a hook that returns
// non-OK at a step makes the install stop there, as if the process died.
enum class InstallStep {
  kVerified,         // The new file passed its checks; nothing replaced.
  kOldStoreFlushed,  // The old store's WAL was copied into it and removed.
  kRenamed,          // The new file is at the store path; dir not synced.
};

struct InstallOptions {
  // Must match the cluster's store (Store::Open refuses another).
  uint32_t chunk_size = 64 * 1024;
  std::function<Status(InstallStep)> TEST_crash_hook;
};

// Verifies `file` (size and XXH3-64 against `expected`, then SQLite's
// quick_check and Store::Open's meta checks) and renames it over
// `store_path`, fsyncing the file and the directory. A crash at any point
// leaves either the old store or the complete new one at `store_path`.
// Returns the installed store's applied index.
// REQUIRES: nobody has the store at `store_path` open; `file` and
// `store_path` are in the same directory (rename is atomic only there).
StatusOr<uint64_t> InstallSnapshot(const std::string& file,
                                   const std::string& store_path,
                                   const SnapshotInfo& expected,
                                   const InstallOptions& options = {});

struct SourceOptions {
  std::string cluster_id;
  std::string store_path;  // The live store to snapshot.
  // Holds this source's snapshot files; emptied at start, since a restarted
  // sender no longer knows the ids it handed out.
  std::string dir;
  size_t chunk_bytes = 1 << 20;  // Raw bytes per chunk; at most 2 MiB.
  // Sending rate (token bucket over the bytes on the wire); 0: unlimited.
  uint64_t rate_bytes_per_s = 64ull << 20;
  int zstd_level = 1;   // 0 sends raw chunks.
  int max_streams = 4;  // Concurrent Fetch calls; more are refused.
  int max_kept = 2;     // Snapshot files kept for resuming fetches.
  int64_t max_age_ms = 60 * 60 * 1000;
  // A new fetch reuses the newest snapshot if it is younger than this.
  int64_t reuse_ms = 10 * 1000;
  const Clock* clock = &SystemClock::Instance();
  // Called with each chunk's offset after its checksum is computed; true
  // flips a bit of the payload (corruption in transit, for tests).
  std::function<bool(uint64_t offset)> TEST_corrupt_chunk;
};

struct SourceStats {
  uint64_t snapshots_created = 0;
  uint64_t chunks_sent = 0;
  uint64_t wire_bytes_sent = 0;
  uint64_t raw_bytes_sent = 0;
  uint64_t fetches_refused = 0;
};

// Serves SnapshotService.Fetch. Each stream gets a worker thread that makes
// or opens the snapshot, reads, compresses and paces its chunks; gRPC's
// threads only hand chunks over, never wait on the disk or the rate limit.
// Thread safety: all methods are thread-safe. Destroy it after the gRPC
// server that serves service() has shut down.
class SnapshotSource {
 public:
  static StatusOr<std::unique_ptr<SnapshotSource>> Create(
      SourceOptions options);
  virtual ~SnapshotSource() = default;

  // Not owned by the caller; lives as long as this source.
  virtual grpc::Service* service() = 0;
  virtual SourceStats stats() const = 0;
  // Forgets every snapshot and removes its file, as a restarted sender
  // would have (for tests of resumption against a restarted sender).
  virtual void TEST_ForgetSnapshots() = 0;
};

struct FetchProgress {
  uint64_t bytes_done = 0;      // Durable in the partial file (or received).
  uint64_t total_bytes = 0;     // 0 until the first chunk arrives.
  double rate_bytes_per_s = 0;  // Raw bytes received per second, this run.
  double eta_s = 0;
  std::string note;  // Events worth printing ("starting over: ..."), or "".
};

struct FetchOptions {
  // Bounds the whole fetch, snapshot creation on the sender included.
  int64_t timeout_ms = 6 * 60 * 60 * 1000;
  // The partial file is fsynced and the progress file rewritten after at
  // least this many new bytes (0: after every chunk).
  uint64_t sync_every_bytes = 8 << 20;
  int max_corrupt_retries = 3;  // Refetches after a chunk fails its check.
  InstallOptions install;
  // Stops (as if the joiner died) after this many chunks; 0: never.
  int TEST_stop_after_chunks = 0;
  // TLS (tls/credentials.h); null: plaintext (tests of the stream alone).
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  std::string ssl_target_name;  // The name the sender's certificate carries.
};

struct InstallResult {
  uint64_t applied_index = 0;
  std::string snapshot_id;
  uint64_t total_bytes = 0;
  uint64_t bytes_received = 0;  // Raw bytes received by this call.
  uint64_t wire_bytes = 0;      // Bytes on the wire (compressed).
  bool resumed = false;         // Continued a partial fetch.
  bool started_over = false;    // Dropped a partial the sender no longer has.
};

using ProgressCallback = std::function<void(const FetchProgress&)>;

// Fetches a snapshot from `peer_address` ("host:port") into
// `data_dir`/snapshot.partial (+ snapshot.progress), resuming an earlier
// fetch if the sender still has its snapshot, then installs it at
// `store_path` (InstallSnapshot). `progress` may be null.
// Errors: kInvalidArgument (another cluster), kUnavailable (peer down),
// kCorruption (chunks kept failing their checksums), kTimedOut.
StatusOr<InstallResult> FetchAndInstall(const std::string& peer_address,
                                        const std::string& cluster_id,
                                        const std::string& data_dir,
                                        const std::string& store_path,
                                        const ProgressCallback& progress,
                                        const FetchOptions& options = {});

}  // namespace paxosfs::snapshot
