#include "cli/init_command.h"

#include <cstdio>
#include <fstream>

#include "cli/data_dir.h"
#include "cli/tls_files.h"
#include "common/clock.h"
#include "log/file_log.h"
#include "replica/driver.h"

namespace paxosfs::cli {
namespace {

// 16 hex digits from the kernel's random source: unique enough that two
// clusters never share an id by accident.
std::string RandomClusterId() {
  std::ifstream random("/dev/urandom", std::ios::binary);
  uint64_t v = 0;
  random.read(reinterpret_cast<char*>(&v), sizeof(v));
  if (!random) v = static_cast<uint64_t>(SystemClock::Instance().WallNanos());
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx",
                static_cast<unsigned long long>(v));
  return buf;
}

// The log starts with the acceptor metadata of a genesis voter.
Status WriteBootstrapLog(const std::string& data_dir, const Identity& id) {
  auto log = log::OpenFileLog(log::PosixEnv(), LogDir(data_dir));
  if (!log.ok()) return log.status();
  return replica::BootstrapLog(log->get(), GenesisConfig(id), id.node_id);
}

}  // namespace

int RunInit(const InitFlags& flags) {
  Identity id;
  id.cluster_id =
      flags.cluster_id.empty() ? RandomClusterId() : flags.cluster_id;
  id.node_id = flags.node_id;
  id.listen = flags.listen;
  auto members = ParseMembers(
      flags.members.empty() ? std::to_string(flags.node_id) + "@" + flags.listen
                            : flags.members);
  if (!members.ok()) {
    std::fprintf(stderr, "paxosfs init: --members: %s\n",
                 members.status().message().c_str());
    return 2;
  }
  id.members = std::move(members).value();
  bool listed = false;
  for (const Member& m : id.members) {
    if (m.id == id.node_id) {
      listed = true;
      if (m.address != id.listen) {
        std::fprintf(stderr,
                     "paxosfs init: --members gives node %llu the address %s "
                     "but --listen is %s; make them the same\n",
                     static_cast<unsigned long long>(m.id), m.address.c_str(),
                     id.listen.c_str());
        return 2;
      }
    }
  }
  if (!listed) {
    std::fprintf(stderr,
                 "paxosfs init: --members does not list this node (%llu); add "
                 "%llu@%s\n",
                 static_cast<unsigned long long>(id.node_id),
                 static_cast<unsigned long long>(id.node_id),
                 id.listen.c_str());
    return 2;
  }
  // Checked before the TLS files are written: never replace a node's keys.
  Status s = ReadIdentity(flags.data_dir).status();
  if (s.ok() || s.code() != StatusCode::kNotFound) {
    s = CreateDataDir(flags.data_dir, id);  // Says what is there.
  } else {
    s = CreateFounderTls(flags.data_dir, id.cluster_id, id.node_id,
                         flags.ca_from);
    if (s.ok()) s = CreateDataDir(flags.data_dir, id);
  }
  if (s.ok()) s = WriteBootstrapLog(flags.data_dir, id);
  if (!s.ok()) {
    std::fprintf(stderr, "paxosfs init: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("initialised node %llu of cluster %s in %s (members %s)\n",
              static_cast<unsigned long long>(id.node_id),
              id.cluster_id.c_str(), flags.data_dir.c_str(),
              FormatMembers(id.members).c_str());
  if (flags.ca_from.empty() && id.members.size() > 1) {
    std::printf(
        "created the cluster's CA in %s/tls; initialise the other founders "
        "with --ca-from a copy of its ca.crt and ca.key\n",
        flags.data_dir.c_str());
  }
  return 0;
}

}  // namespace paxosfs::cli
