#include "cli/rebuild.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "cli/admin_client.h"
#include "cli/data_dir.h"
#include "common/logging.h"
#include "log/file_log.h"
#include "replica/core/codec.h"
#include "snapshot/stream.h"
#include "tls/certs.h"

namespace paxosfs::cli {
namespace {

constexpr char kMarker[] = "rebuild";
constexpr char kRevoteMarker[] = "revote";

std::string MarkerPath(const std::string& dir) { return dir + "/" + kMarker; }

std::string MarkedPeer(const std::string& dir) {
  std::ifstream in(MarkerPath(dir));
  std::string line;
  std::getline(in, line);
  const std::string key = "peer=";
  return line.rfind(key, 0) == 0 ? line.substr(key.size()) : "";
}

// The slots a snapshot skips may have chosen configurations this node never
// applied, and only the log's metadata keeps them (replica/core/types.h):
// without them the node would count quorums, and campaign, in a
// configuration the cluster has left. So it takes `peer`'s history through
// the snapshot's index. A peer too old to send one leaves the history as it
// was, with a warning.
Status TakeConfigHistory(const tls::Material& tls, const std::string& peer,
                         uint64_t through, log::Log* log) {
  auto status = FetchStatus(tls, peer, 10000, /*with_digest=*/false);
  if (!status.ok()) {
    return status.status().WithContext(
        "cannot read the configuration history of " + peer);
  }
  if (status->configs().empty()) {
    Logf(LogLevel::kWarning, "rebuild",
         "%s sends no configuration history (an older version?): "
         "membership changes in the slots the snapshot skips stay unknown "
         "here until every node is upgraded",
         peer.c_str());
    return Status::Ok();
  }
  auto theirs = replica::DecodeMetadata(status->configs());
  auto ours = replica::DecodeMetadata(log->Metadata());
  if (!theirs.ok()) {
    return theirs.status().WithContext("the configuration history of " + peer);
  }
  if (!ours.ok()) return ours.status().WithContext("this node's log metadata");
  std::map<uint64_t, replica::Config> merged(ours->configs.begin(),
                                             ours->configs.end());
  for (const auto& [slot, config] : theirs->configs) {
    if (slot <= through) merged.emplace(slot, config);
  }
  if (merged.size() == ours->configs.size()) return Status::Ok();
  ours->configs.assign(merged.begin(), merged.end());
  PAXOSFS_RETURN_IF_ERROR(log->SetMetadata(replica::EncodeMetadata(*ours)));
  return log->Sync();
}

// Prints fetch progress: a line rewritten in place on a terminal, else a
// plain line at most every 5 s (and every event note).
class ProgressPrinter {
 public:
  explicit ProgressPrinter(std::string peer)
      : peer_(std::move(peer)), tty_(isatty(STDERR_FILENO) == 1) {}
  ~ProgressPrinter() {
    if (tty_ && printed_) std::fputc('\n', stderr);
  }

  void operator()(const snapshot::FetchProgress& p) {
    if (!p.note.empty()) {
      if (tty_ && printed_) std::fputc('\n', stderr);
      std::fprintf(stderr, "snapshot from %s: %s\n", peer_.c_str(),
                   p.note.c_str());
      printed_ = false;
    }
    auto now = std::chrono::steady_clock::now();
    bool done = p.total_bytes > 0 && p.bytes_done >= p.total_bytes;
    if (!tty_ && !done && now - last_ < std::chrono::seconds(5)) return;
    last_ = now;
    double mib = 1024.0 * 1024.0;
    std::fprintf(
        stderr, "%ssnapshot from %s: %.1f / %.1f MiB, %.1f MiB/s, ETA %.0f s%s",
        tty_ ? "\r" : "", peer_.c_str(), p.bytes_done / mib,
        p.total_bytes / mib, p.rate_bytes_per_s / mib, p.eta_s,
        tty_ ? "   " : "\n");
    printed_ = true;
  }

 private:
  const std::string peer_;
  const bool tty_;
  bool printed_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace

Status MarkForRebuild(const std::string& dir, const std::string& peer) {
  return WriteFileDurably(dir, kMarker, "peer=" + peer + "\n");
}

bool RebuildDue(const std::string& dir) {
  return std::filesystem::exists(MarkerPath(dir));
}

StatusOr<uint64_t> WriteFreshLog(const std::string& dir,
                                 const std::string& configs) {
  auto history = replica::DecodeMetadata(configs);
  if (!history.ok()) return history.status().WithContext("the leader's reply");
  replica::Metadata meta;
  std::random_device random;
  while (meta.disk_id == 0) {
    meta.disk_id = (uint64_t{random()} << 32) ^ random();
  }
  meta.configs = std::move(history->configs);
  auto log = log::OpenFileLog(log::PosixEnv(), LogDir(dir));
  if (!log.ok()) return log.status();
  PAXOSFS_RETURN_IF_ERROR((*log)->SetMetadata(replica::EncodeMetadata(meta)));
  PAXOSFS_RETURN_IF_ERROR((*log)->Sync());
  return meta.disk_id;
}

Status MarkForRevote(const std::string& dir, uint64_t disk_id) {
  return WriteFileDurably(dir, kRevoteMarker,
                          "disk_id=" + std::to_string(disk_id) + "\n");
}

bool RevoteDue(const std::string& dir) {
  return std::filesystem::exists(dir + "/" + kRevoteMarker);
}

Status ClearRevote(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove(dir + "/" + kRevoteMarker, ec);
  if (ec) {
    return Status::IOError("cannot remove " + dir + "/" + kRevoteMarker + ": " +
                           ec.message());
  }
  return Status::Ok();
}

Status RebuildIfDue(const std::string& dir, const std::string& cluster_id,
                    const tls::Material& tls,
                    const std::vector<std::string>& peers, log::Log* log) {
  snapshot::FetchOptions options;
  options.credentials = tls::ClientCredentials(tls);
  options.ssl_target_name = tls::kServerName;
  if (!RebuildDue(dir)) return Status::Ok();
  std::vector<std::string> order;
  std::string marked = MarkedPeer(dir);
  if (!marked.empty()) order.push_back(marked);
  for (const std::string& p : peers) {
    if (p != marked) order.push_back(p);
  }
  std::string failures;
  for (const std::string& peer : order) {
    ProgressPrinter printer(peer);
    auto start = std::chrono::steady_clock::now();
    auto result = snapshot::FetchAndInstall(
        peer, cluster_id, dir, StorePath(dir),
        [&printer](const snapshot::FetchProgress& p) { printer(p); }, options);
    if (!result.ok()) {
      failures += "\n  " + peer + ": " + result.status().ToString();
      continue;
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    Logf(LogLevel::kInfo, "rebuild",
         "installed the snapshot of %s at slot %llu: %.1f MiB in %.1f s "
         "(%.1f MiB/s, %.1f MiB on the wire%s)",
         peer.c_str(), static_cast<unsigned long long>(result->applied_index),
         result->total_bytes / 1048576.0, seconds,
         result->bytes_received / 1048576.0 / std::max(seconds, 1e-3),
         result->wire_bytes / 1048576.0,
         result->resumed ? ", resumed a partial download" : "");
    // Before the truncation and the mark's removal: a crash in between
    // rebuilds again.
    Status history = TakeConfigHistory(tls, peer, result->applied_index, log);
    if (!history.ok()) {
      failures += "\n  " + peer + ": " + history.ToString();
      continue;
    }
    if (log->FirstSlot() <= result->applied_index) {
      PAXOSFS_RETURN_IF_ERROR(log->TruncatePrefix(result->applied_index + 1));
    }
    std::error_code ec;
    std::filesystem::remove(MarkerPath(dir), ec);
    if (ec) {
      return Status::IOError("cannot remove " + MarkerPath(dir) + ": " +
                             ec.message());
    }
    return Status::Ok();
  }
  return Status::Unavailable(
      "no member could send a snapshot (start the node again once one is "
      "up):" +
      (failures.empty() ? std::string(" no member address is known")
                        : failures));
}

}  // namespace paxosfs::cli
