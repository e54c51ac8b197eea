#include "cli/serve_command.h"

#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <vector>

#include "cli/admin_service.h"
#include "cli/collector.h"
#include "cli/data_dir.h"
#include "cli/join_service.h"
#include "cli/kernel_cache.h"
#include "cli/node_backend.h"
#include "cli/promoter.h"
#include "cli/rebuild.h"
#include "cli/space_guard.h"
#include "cli/test_clock.h"
#include "cli/tls_files.h"
#include "common/clock.h"
#include "common/logging.h"
#include "fsm/filesystem.h"
#include "fuse/mount.h"
#include "log/file_log.h"
#include "replica/applier.h"
#include "replica/core/codec.h"
#include "replica/driver.h"
#include "replica/transport/peer_transport.h"
#include "snapshot/stream.h"
#include "tls/certs.h"

namespace paxosfs::cli {
namespace {

constexpr int kFailed = 1;
constexpr int kStopped = 0;
constexpr int kRebuild = -1;  // Executes again to install a snapshot.
constexpr int kRestart = -2;  // Executes again: the disk has room again.

// A node whose log ran out of space restarts once this much is free (the
// reserve, or this floor when there is none), so it does not restart into
// the same full disk at once.
constexpr uint64_t kRestartFreeMin = 16 << 20;

int Fail(const std::string& what, const Status& status) {
  std::fprintf(stderr, "paxosfs serve: %s: %s\n", what.c_str(),
               status.ToString().c_str());
  return kFailed;
}

// What to do about damaged data, for messages at start and at run time.
std::string RebuildFix(const std::string& data_dir) {
  return "Fix: stop the node, run `paxosfs rebuild --data " + data_dir +
         "` (it moves the damaged files aside into " + data_dir +
         "/corrupt-<time>/ and marks the node to fetch its state from its "
         "peers), then start it again";
}

// Start refused: a corrupt log or store is never served, applied or cut.
int FailStart(const ServeFlags& flags, const std::string& what,
              const Status& status) {
  if (status.code() != StatusCode::kCorruption) return Fail(what, status);
  std::fprintf(stderr,
               "paxosfs serve: refusing to start: the %s of this node is "
               "corrupt: %s\n%s.\n",
               what.c_str(), status.message().c_str(),
               RebuildFix(flags.data_dir).c_str());
  return kFailed;
}

// Damage found at run time (a reader or the applier got SQLITE_CORRUPT):
// halts the driver, now or as soon as it exists, so the node stops taking
// part and its reads fail. Thread-safe; called on the thread that found it.
class DamageStop {
 public:
  void Report(const Status& why) {
    std::lock_guard<std::mutex> lock(mu_);
    if (first_.ok()) first_ = why;
    if (driver_ != nullptr) driver_->Halt(first_);
  }
  void SetDriver(replica::Driver* driver) {
    std::lock_guard<std::mutex> lock(mu_);
    driver_ = driver;
    if (driver_ != nullptr && !first_.ok()) driver_->Halt(first_);
  }

 private:
  std::mutex mu_;
  Status first_;                       // Guarded by mu_.
  replica::Driver* driver_ = nullptr;  // Guarded by mu_.
};

// Blocks SIGINT and SIGTERM in every thread (threads inherit the mask) so
// they can be awaited with sigtimedwait by the main thread alone.
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

// The peer addresses the log's metadata knows, other than this node's.
std::vector<std::string> KnownPeers(const log::Log& log, uint64_t self) {
  std::vector<std::string> peers;
  auto meta = replica::DecodeMetadata(log.Metadata());
  if (!meta.ok() || meta->configs.empty()) return peers;
  for (const auto& [node, address] : meta->configs.back().second.addresses) {
    if (node != self) peers.push_back(address);
  }
  return peers;
}

void ExecuteAgain() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)),
                  std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  for (size_t start = 0; start < all.size();) {
    size_t end = all.find('\0', start);
    if (end == std::string::npos) end = all.size();
    args.push_back(all.substr(start, end - start));
    start = end + 1;
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  execv("/proc/self/exe", argv.data());
  std::fprintf(stderr, "paxosfs serve: cannot execute itself again: %s\n",
               std::strerror(errno));
}

// Mutual TLS for the transport, which also serves the admin, join and
// snapshot services: only the join service is open without a node
// certificate, and a node that was removed is refused although its
// certificate is still valid.
void SetTransportTls(const tls::Material& material,
                     const std::string& cluster_id,
                     const std::atomic<replica::Driver*>* driver,
                     replica::TransportOptions* options) {
  tls::ServerPolicy policy;
  policy.cluster_id = cluster_id;
  policy.open_methods = JoinService::Methods();
  policy.removed = [driver](uint64_t node) {
    // Ids are never reused: one below the next id that the latest
    // configuration does not list was removed.
    replica::Driver* d = driver->load();
    if (d == nullptr) return false;
    replica::DriverStatus s = d->status();
    return node < s.config.next_node_id && s.config.addresses.count(node) == 0;
  };
  options->server_credentials = tls::ServerCredentials(material, policy);
  options->channel_credentials = tls::ClientCredentials(material);
  options->ssl_target_name = tls::kServerName;
}

// Watches for the driver's failure (a log write or sync failed). A full
// disk heals by itself once space is freed: the node restarts in place
// (a restart reopens the log, which cuts what a failed write left). Any
// other failure (EIO, a failed fsync) needs a person to look at the disk.
class FailureWatch {
 public:
  FailureWatch(std::string dir, uint64_t reserve_bytes)
      : dir_(std::move(dir)),
        restart_free_(std::max(reserve_bytes, kRestartFreeMin)) {}

  // True once the node should restart itself.
  bool RestartDue(const Status& error) {
    if (error.ok()) return false;
    if (!reported_) {
      reported_ = true;
      if (error.code() == StatusCode::kNoSpace) {
        Logf(LogLevel::kError, "node",
             "out of disk space: this node takes no part until %llu MiB are "
             "free on the file system of %s, then restarts itself (free "
             "space by deleting files elsewhere on that disk)",
             static_cast<unsigned long long>(restart_free_ >> 20),
             dir_.c_str());
      } else if (error.code() == StatusCode::kCorruption) {
        // Serving on (halted) keeps the mount answering EIO rather than
        // vanishing under its users, and the evidence untouched.
        Logf(LogLevel::kError, "node",
             "this node's data is corrupt (%s); it no longer votes or serves "
             "reads (EIO). %s",
             error.ToString().c_str(), RebuildFix(dir_).c_str());
      } else {
        Logf(LogLevel::kError, "node",
             "this node takes no part until it is restarted (%s); check the "
             "disk of %s first",
             error.ToString().c_str(), dir_.c_str());
      }
    }
    if (error.code() != StatusCode::kNoSpace) return false;
    auto free = FreeBytes(dir_);
    if (!free.ok() || *free < restart_free_) return false;
    Logf(LogLevel::kWarning, "node",
         "%llu MiB are free on the file system of %s again; restarting",
         static_cast<unsigned long long>(*free >> 20), dir_.c_str());
    return true;
  }

 private:
  const std::string dir_;
  const uint64_t restart_free_;
  bool reported_ = false;
};

// Runs the node until a stop signal (kStopped; every component is stopped
// on return), or until it must rebuild from a snapshot or restart after its
// disk filled up: then it executes itself again at once (or returns
// kFailed if it cannot). `test_clock` is null unless a
// fault test skews this node's clock.
int ServeOnce(const ServeFlags& flags, const Identity& id,
              const sigset_t& stop_signals, TestClock* test_clock) {
  log::RecoveryReport recovery;
  auto log = log::OpenFileLog(log::PosixEnv(), LogDir(flags.data_dir),
                              log::FileLogOptions(), &recovery);
  if (!log.ok()) return FailStart(flags, "log", log.status());
  if (recovery.torn_bytes_cut > 0) {
    Logf(LogLevel::kWarning, "log",
         "cut %llu bytes of an unfinished write from %s (an append cut "
         "short by a crash or a full disk; nothing acknowledged was lost)",
         static_cast<unsigned long long>(recovery.torn_bytes_cut),
         recovery.torn_segment.c_str());
  }
  auto tls = LoadNodeTls(flags.data_dir, id.cluster_id, id.node_id);
  if (!tls.ok()) return Fail("TLS", tls.status());
  Status rebuilt = RebuildIfDue(flags.data_dir, id.cluster_id, *tls,
                                KnownPeers(**log, id.node_id), log->get());
  if (!rebuilt.ok()) return Fail("rebuild", rebuilt);
  DamageStop damage;
  fsm::Options fs_options;
  fs_options.on_corruption = [&damage](const Status& why) {
    damage.Report(why);
  };
  auto fs = fsm::Filesystem::Open(StorePath(flags.data_dir), fs_options);
  if (!fs.ok()) return FailStart(flags, "store", fs.status());

  snapshot::SourceOptions source_options;
  source_options.cluster_id = id.cluster_id;
  source_options.store_path = StorePath(flags.data_dir);
  source_options.dir = flags.data_dir + "/snapshots";
  source_options.rate_bytes_per_s = flags.snapshot_rate_mib << 20;
  auto source = snapshot::SnapshotSource::Create(source_options);
  if (!source.ok()) return Fail("snapshot service", source.status());

  // The applier runs from its construction and the driver delivers what it
  // learns from peers at once, before the backend exists; until then no
  // request of this process waits and nothing is mounted, so there is
  // nobody to tell.
  std::unique_ptr<NodeBackend> backend;
  std::atomic<NodeBackend*> backend_ptr{nullptr};
  std::atomic<replica::Driver*> driver_ptr{nullptr};
  const Clock* driver_clock =
      test_clock != nullptr ? test_clock->clock() : &SystemClock::Instance();
  // Sees every vote and applied slot from the start, so it never takes an
  // unapplied vote for applied.
  KernelCache kernel_cache(
      KernelCacheOptions(),
      [&driver_ptr] {
        replica::Driver* d = driver_ptr.load();
        return d == nullptr ? replica::LocalReads() : d->LocalReadWindow();
      },
      driver_clock, (*fs)->AppliedIndex());
  replica::Applier applier(
      fs->get(), replica::Applier::Options(),
      [&backend_ptr, &kernel_cache](uint64_t slot,
                                    const std::vector<std::string>& commands,
                                    const std::vector<std::string>& results) {
        kernel_cache.Applied(slot);
        if (NodeBackend* b = backend_ptr.load()) {
          b->OnApplied(slot, commands, results);
        }
      });

  AdminService admin(id, fs->get(), &applier);
  JoinService join(id, flags.data_dir, *tls);
  replica::TransportOptions transport_options;
  transport_options.cluster_id = id.cluster_id;
  transport_options.node_id = id.node_id;
  transport_options.listen_address = id.listen;
  SetTransportTls(*tls, id.cluster_id, &driver_ptr, &transport_options);
  auto transport =
      replica::Transport::Start(transport_options,
                                [&driver_ptr](uint64_t from, std::string body) {
                                  if (replica::Driver* d = driver_ptr.load()) {
                                    d->Receive(from, std::move(body));
                                  }
                                },
                                {&admin, &join, (*source)->service()});
  if (!transport.ok()) return Fail("peer service", transport.status());
  admin.SetTransport(transport->get());

  replica::DriverOptions driver_options;
  driver_options.node_id = id.node_id;
  driver_options.genesis = GenesisConfig(id);
  driver_options.clock = driver_clock;
  driver_options.on_vote = [&kernel_cache](uint64_t slot,
                                           const auto& commands) {
    kernel_cache.Voted(slot, commands);
  };
  driver_options.truncate_margin_slots = flags.log_keep_slots;
  driver_options.truncate_margin_bytes = flags.log_keep_mib << 20;
  driver_options.truncate_every_slots =
      std::clamp<uint64_t>(flags.log_keep_slots, 1, 1000);
  auto driver = replica::Driver::Start(driver_options, log->get(),
                                       transport->get(), &applier);
  if (!driver.ok()) return FailStart(flags, "log", driver.status());
  driver_ptr.store(driver->get());
  damage.SetDriver(driver->get());
  admin.SetDriver(driver->get());

  SpaceGuard space(flags.data_dir, flags.reserve_mib << 20);
  NodeBackendOptions backend_options;
  backend_options.space = &space;
  backend_options.node_id = id.node_id;
  backend_options.boot_id =
      static_cast<uint64_t>(SystemClock::Instance().WallNanos() / 1'000'000);
  backend = std::make_unique<NodeBackend>(
      backend_options, fs->get(), driver->get(), &applier, &kernel_cache);
  backend_ptr.store(backend.get());

  std::unique_ptr<fuse::Mount> mount;
  if (!flags.no_mount) {
    fuse::MountOptions mount_options;
    mount_options.mount_point = flags.mount_point;
    auto m = fuse::Mount::Start(mount_options, backend.get());
    if (!m.ok()) return Fail("mount", m.status());
    mount = std::move(m).value();
    backend->SetMount(mount.get());
    admin.SetMountPoint(flags.mount_point);
  }
  Logf(LogLevel::kInfo, "node", "node %llu of cluster %s serving on %s%s%s",
       static_cast<unsigned long long>(id.node_id), id.cluster_id.c_str(),
       id.listen.c_str(), mount ? ", mounted at " : "",
       mount ? flags.mount_point.c_str() : "");
  std::unique_ptr<Promoter> promoter;
  if (flags.promote || RevoteDue(flags.data_dir)) {
    promoter = std::make_unique<Promoter>(id, flags.data_dir, *tls,
                                          driver->get(), &applier);
  }

  auto collector = std::make_unique<Collector>(backend.get(), driver->get());

  int outcome = kStopped;
  FailureWatch failure(flags.data_dir, flags.reserve_mib << 20);
  const timespec poll = {0, 200'000'000};
  while (true) {
    int signal = sigtimedwait(&stop_signals, nullptr, &poll);
    if (signal > 0) {
      Logf(LogLevel::kInfo, "node", "%s received; unmounting and stopping",
           strsignal(signal));
      break;
    }
    if (test_clock != nullptr) test_clock->Poll();
    replica::DriverStatus s = (*driver)->status();
    if (failure.RestartDue(s.error)) {
      outcome = kRestart;
      break;
    }
    if (s.snapshot_index > applier.applied_index()) {
      auto it = s.config.addresses.find(s.snapshot_peer);
      std::string peer = it == s.config.addresses.end() ? "" : it->second;
      Status marked = MarkForRebuild(flags.data_dir, peer);
      if (!marked.ok()) return Fail("rebuild", marked);
      Logf(LogLevel::kWarning, "node",
           "stopping to rebuild from a snapshot of node %llu (slot >= %llu); "
           "the mount point answers ENOTCONN until it is installed",
           static_cast<unsigned long long>(s.snapshot_peer),
           static_cast<unsigned long long>(s.snapshot_index));
      outcome = kRebuild;
      break;
    }
  }
  if (outcome == kRebuild || outcome == kRestart) {
    // At once, with the mount up: the exec closes /dev/fuse, so the mount
    // point answers ENOTCONN until the next process mounts again
    // (CheckMountPointEarly leaves it), instead of showing the bare
    // directory, whose writes the new mount would hide, for the minutes a
    // rebuild may take. The next process starts as after a crash.
    ExecuteAgain();
    return kFailed;
  }
  promoter.reset();
  admin.SetMountPoint("");
  // Commands waiting without a quorum (a user's, or the collector's) would
  // hold the unmount and the collector for the request timeout.
  backend->Stop();
  if (mount) mount->Stop();
  collector.reset();
  backend->SetMount(nullptr);
  damage.SetDriver(nullptr);
  driver_ptr.store(nullptr);
  admin.SetDriver(nullptr);
  driver->reset();
  admin.SetTransport(nullptr);
  transport->reset();
  return outcome;
}

}  // namespace

Status CheckMountFlags(const ServeFlags& flags) {
  if (flags.no_mount) return Status::Ok();
  return fuse::CheckMountPointEarly(flags.mount_point);
}

int RunServe(const ServeFlags& flags) {
  if (flags.verbose) SetLogLevel(LogLevel::kDebug);
  // Log values and chunks are up to megabytes and churn constantly. glibc
  // would mmap and unmap each such buffer, and the kernel would zero fresh
  // pages every time (half the driver's CPU in profiles); keep them in the
  // heap and keep freed memory for reuse.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  sigset_t stop_signals = BlockStopSignals();
  auto identity = ReadIdentity(flags.data_dir);
  if (!identity.ok()) return Fail("data directory", identity.status());
  Status mount = CheckMountFlags(flags);
  if (!mount.ok()) return Fail("mount", mount);
  auto test_clock = TestClock::FromEnvironment();
  if (!test_clock.ok()) return Fail("test clock", test_clock.status());
  return ServeOnce(flags, *identity, stop_signals, test_clock->get());
}

}  // namespace paxosfs::cli
