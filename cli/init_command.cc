#include "cli/init_command.h"

#include <cstdio>
#include <fstream>
#include <set>

#include "cli/data_dir.h"
#include "cli/dir_claim.h"
#include "cli/input_checks.h"
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

// Every member of --members: a founder id in range, a distinct address,
// and this node at its --listen address.
Status CheckFounders(const Identity& id) {
  std::set<std::string> addresses;
  bool listed = false;
  for (const Member& m : id.members) {
    if (m.id > kMaxFounderNodeId) {
      return Status::InvalidArgument(
          "--members: node id " + std::to_string(m.id) +
          " is too large; number the founders from 1 (at most " +
          std::to_string(kMaxFounderNodeId) + ")");
    }
    if (!addresses.insert(m.address).second) {
      return Status::InvalidArgument("--members: the address " + m.address +
                                     " is given to two nodes; give each node "
                                     "its own HOST:PORT");
    }
    if (m.id != id.node_id) continue;
    listed = true;
    if (m.address != id.listen) {
      return Status::InvalidArgument(
          "--members gives node " + std::to_string(m.id) + " the address " +
          m.address + " but --listen is " + id.listen + "; make them the same");
    }
  }
  if (!listed) {
    return Status::InvalidArgument(
        "--members does not list this node (" + std::to_string(id.node_id) +
        "); add " + std::to_string(id.node_id) + "@" + id.listen);
  }
  return Status::Ok();
}

// TLS files, then the log, then the identity: a directory with an identity
// is a whole node.
Status CreateNode(const InitFlags& flags, const Identity& id) {
  PAXOSFS_RETURN_IF_ERROR(CreateFounderTls(flags.data_dir, id.cluster_id,
                                           id.node_id, flags.ca_from));
  PAXOSFS_RETURN_IF_ERROR(WriteBootstrapLog(flags.data_dir, id));
  return CreateDataDir(flags.data_dir, id);
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
  Status s =
      members.ok() ? Status::Ok() : members.status().WithContext("--members");
  if (s.ok()) {
    id.members = std::move(members).value();
    s = CheckFounders(id);
  }
  if (!s.ok()) {
    std::fprintf(stderr, "paxosfs init: %s\n", s.message().c_str());
    return kExitUsage;
  }
  // Checked before anything is written: never replace a node's keys.
  s = ReadIdentity(flags.data_dir).status();
  if (s.ok()) {
    s = CreateDataDir(flags.data_dir, id);  // Says which node is there.
  } else if (s.code() == StatusCode::kNotFound) {
    auto claim = DirClaim::Make(flags.data_dir, "--data");
    s = claim.ok() ? CreateNode(flags, id) : claim.status();
    if (s.ok()) {
      (*claim)->Keep();
    } else if (claim.ok()) {
      s = Status(s.code(),
                 s.message() + " (nothing was left in " + flags.data_dir + ")");
    }
  }
  if (!s.ok()) {
    std::fprintf(stderr, "paxosfs init: %s\n", s.ToString().c_str());
    return kExitFailed;
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
