#include "cli/serve_command.h"

#include <malloc.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <memory>

#include "cli/admin_service.h"
#include "cli/data_dir.h"
#include "cli/node_backend.h"
#include "common/clock.h"
#include "common/logging.h"
#include "fsm/filesystem.h"
#include "fuse/mount.h"
#include "log/file_log.h"
#include "replica/applier.h"
#include "replica/driver.h"
#include "replica/transport/peer_transport.h"

namespace paxosfs::cli {
namespace {

int Fail(const std::string& what, const Status& status) {
  std::fprintf(stderr, "paxosfs serve: %s: %s\n", what.c_str(),
               status.ToString().c_str());
  return 1;
}

// Blocks SIGINT and SIGTERM in every thread (threads inherit the mask) so
// they can be awaited with sigwait by the main thread alone.
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

}  // namespace

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
  const Identity& id = *identity;

  log::RecoveryReport recovery;
  auto log = log::OpenFileLog(log::PosixEnv(), LogDir(flags.data_dir),
                              log::FileLogOptions(), &recovery);
  if (!log.ok()) return Fail("log", log.status());
  if (recovery.torn_bytes_cut > 0) {
    Logf(LogLevel::kWarning, "log",
         "cut %llu bytes of an unfinished write from %s (a crash during an "
         "append; nothing acknowledged was lost)",
         static_cast<unsigned long long>(recovery.torn_bytes_cut),
         recovery.torn_segment.c_str());
  }
  auto fs = fsm::Filesystem::Open(StorePath(flags.data_dir), fsm::Options());
  if (!fs.ok()) return Fail("store", fs.status());

  std::unique_ptr<NodeBackend> backend;
  replica::Applier applier(
      fs->get(), replica::Applier::Options(),
      [&backend](uint64_t slot, const std::vector<std::string>& commands,
                 const std::vector<std::string>& results) {
        backend->OnApplied(slot, commands, results);
      });

  AdminService admin(id, flags.no_mount ? "" : flags.mount_point, fs->get(),
                     &applier);
  std::atomic<replica::Driver*> driver_ptr{nullptr};
  replica::TransportOptions transport_options;
  transport_options.cluster_id = id.cluster_id;
  transport_options.node_id = id.node_id;
  transport_options.listen_address = id.listen;
  auto transport =
      replica::Transport::Start(transport_options,
                                [&driver_ptr](uint64_t from, std::string body) {
                                  if (replica::Driver* d = driver_ptr.load()) {
                                    d->Receive(from, std::move(body));
                                  }
                                },
                                {&admin});
  if (!transport.ok()) return Fail("peer service", transport.status());

  replica::DriverOptions driver_options;
  driver_options.node_id = id.node_id;
  driver_options.genesis = GenesisConfig(id);
  for (const Member& m : id.members) {
    if (m.id != id.node_id) (*transport)->SetPeer(m.id, m.address);
  }
  auto driver = replica::Driver::Start(driver_options, log->get(),
                                       transport->get(), &applier);
  if (!driver.ok()) return Fail("consensus", driver.status());
  driver_ptr.store(driver->get());
  admin.SetDriver(driver->get());

  NodeBackendOptions backend_options;
  backend_options.node_id = id.node_id;
  backend_options.boot_id =
      static_cast<uint64_t>(SystemClock::Instance().WallNanos() / 1'000'000);
  backend = std::make_unique<NodeBackend>(backend_options, fs->get(),
                                          driver->get(), &applier);

  std::unique_ptr<fuse::Mount> mount;
  if (!flags.no_mount) {
    fuse::MountOptions mount_options;
    mount_options.mount_point = flags.mount_point;
    auto m = fuse::Mount::Start(mount_options, backend.get());
    if (!m.ok()) return Fail("mount", m.status());
    mount = std::move(m).value();
    backend->SetMount(mount.get());
  }
  Logf(LogLevel::kInfo, "node", "node %llu of cluster %s serving on %s%s%s",
       static_cast<unsigned long long>(id.node_id), id.cluster_id.c_str(),
       id.listen.c_str(), mount ? ", mounted at " : "",
       mount ? flags.mount_point.c_str() : "");

  int signal = 0;
  sigwait(&stop_signals, &signal);
  Logf(LogLevel::kInfo, "node", "%s received; unmounting and stopping",
       strsignal(signal));
  if (mount) mount->Stop();
  backend->SetMount(nullptr);
  driver_ptr.store(nullptr);
  admin.SetDriver(nullptr);
  driver->reset();
  return 0;
}

}  // namespace paxosfs::cli
