#include "cli/rebuild_command.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "cli/admin_client.h"
#include "cli/data_dir.h"
#include "cli/rebuild.h"
#include "cli/tls_files.h"
#include "replica/core/codec.h"

namespace paxosfs::cli {
namespace {

int Fail(const std::string& what) {
  std::fprintf(stderr, "paxosfs rebuild: %s\n", what.c_str());
  return 1;
}

Status SyncDir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0 || fsync(fd) != 0) {
    int saved = errno;
    if (fd >= 0) close(fd);
    return Status::IOError("cannot sync directory " + dir + ": " +
                           std::strerror(saved));
  }
  close(fd);
  return Status::Ok();
}

// What the cluster says about this node, from its leader.
struct Membership {
  std::string peer;     // The member that answered.
  std::string configs;  // The configuration history (EncodeMetadata).
  bool voter = false;   // The latest configuration lists it as a voter.
};

// Asks `peer` whether this node is still a member and, through the leader,
// for the configuration history. Re-adding an address that is already a
// member's changes nothing and returns the history, as for an interrupted
// `join`.
StatusOr<Membership> AskMember(const tls::Material& tls, const Identity& id,
                               const std::string& peer) {
  auto view = FetchStatus(tls, peer, 3000);
  if (!view.ok()) return view.status();
  const proto::MemberStatus* self = nullptr;
  for (const proto::MemberStatus& m : view->members()) {
    if (m.id() == id.node_id) self = &m;
  }
  if (self == nullptr) {
    return Status::NotFound(
        "node " + std::to_string(id.node_id) +
        " is no longer a member of cluster " + id.cluster_id +
        " (it was removed); its data directory cannot come back: remove it "
        "and add the machine again with `paxosfs join`");
  }
  proto::MemberChangeRequest request;
  request.set_kind(proto::MemberChangeRequest::ADD_LEARNER);
  request.set_address(self->address());
  auto reply = ChangeMembershipViaLeader(tls, peer, request, 20000);
  if (!reply.ok()) return reply.status();
  if (reply->node() != id.node_id) {
    return Status::InvalidArgument("the leader lists " + self->address() +
                                   " as node " + std::to_string(reply->node()) +
                                   ", not node " + std::to_string(id.node_id) +
                                   "; check `paxosfs members`");
  }
  auto history = replica::DecodeMetadata(reply->configs());
  if (!history.ok() || history->configs.empty()) {
    return Status::InvalidArgument("the leader sent no configuration history");
  }
  return Membership{peer, reply->configs(),
                    history->configs.back().second.VoterDisk(id.node_id) != 0};
}

StatusOr<Membership> AskCluster(const tls::Material& tls, const Identity& id,
                                const std::string& peer) {
  std::vector<std::string> peers;
  if (!peer.empty()) {
    peers.push_back(peer);
  } else {
    for (const Member& m : id.members) {
      if (m.id != id.node_id) peers.push_back(m.address);
    }
  }
  std::string failures;
  for (const std::string& p : peers) {
    auto membership = AskMember(tls, id, p);
    if (membership.ok() ||
        membership.status().code() == StatusCode::kNotFound) {
      return membership;
    }
    failures += "\n  " + p + ": " + membership.status().ToString();
  }
  return Status::Unavailable(
      "no member answered, so nothing was changed; the rebuild needs the "
      "cluster's leader (start the other members, or give --peer HOST:PORT "
      "of a running one):" +
      (failures.empty() ? std::string(" no other member is known") : failures));
}

}  // namespace

Status CheckNodeStopped(const std::string& dir) {
  std::string lock = LogDir(dir) + "/LOCK";
  int fd = open(lock.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Ok();  // No log: nothing can hold it.
  bool held = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  close(fd);
  if (held) {
    return Status::Unavailable(
        "the node is running (a process holds " + lock +
        "); stop it first (e.g. `systemctl stop paxosfs@NAME`), then run "
        "`paxosfs rebuild` again");
  }
  return Status::Ok();
}

StatusOr<std::string> MoveDamagedAside(const std::string& dir, time_t now) {
  char stamp[32];
  struct tm utc;
  gmtime_r(&now, &utc);
  std::strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &utc);
  std::string aside = dir + "/corrupt-" + stamp;
  if (mkdir(aside.c_str(), 0700) != 0) {
    if (errno == EEXIST) {
      return Status::AlreadyExists(aside + " exists; wait a second and retry");
    }
    return Status::IOError("cannot create " + aside + ": " +
                           std::strerror(errno));
  }
  std::string store = StorePath(dir);
  for (const std::string& path :
       {LogDir(dir), store, store + "-wal", store + "-shm"}) {
    std::filesystem::path from(path);
    std::error_code ec;
    if (!std::filesystem::exists(from, ec)) continue;
    std::filesystem::rename(from, aside + "/" + from.filename().string(), ec);
    if (ec) {
      return Status::IOError("cannot move " + path + " into " + aside + ": " +
                             ec.message());
    }
  }
  PAXOSFS_RETURN_IF_ERROR(SyncDir(aside));
  PAXOSFS_RETURN_IF_ERROR(SyncDir(dir));
  return aside;
}

int RunRebuild(const RebuildFlags& flags) {
  const std::string& dir = flags.data_dir;
  auto id = ReadIdentity(dir);
  if (!id.ok()) {
    if (id.status().code() == StatusCode::kNotFound) {
      return Fail(dir +
                  " does not hold an initialized paxosfs node (no identity "
                  "file), so there is nothing to rebuild; a new node is made "
                  "with `paxosfs init` or `paxosfs join`");
    }
    return Fail(id.status().ToString());
  }
  auto tls = LoadNodeTls(dir, id->cluster_id, id->node_id);
  if (!tls.ok()) return Fail(tls.status().ToString());
  Status stopped = CheckNodeStopped(dir);
  if (!stopped.ok()) return Fail(stopped.message());
  auto membership = AskCluster(*tls, *id, flags.peer);
  if (!membership.ok()) return Fail(membership.status().ToString());

  auto aside = MoveDamagedAside(dir, time(nullptr));
  if (!aside.ok()) return Fail(aside.status().ToString());
  std::fprintf(stderr, "moved the log and store of node %" PRIu64 " to %s\n",
               id->node_id, aside->c_str());
  auto disk = WriteFreshLog(dir, membership->configs);
  Status s = disk.status();
  if (s.ok() && membership->voter) s = MarkForRevote(dir, *disk);
  if (s.ok()) s = MarkForRebuild(dir, membership->peer);
  if (!s.ok()) {
    return Fail(s.ToString() + "; run `paxosfs rebuild --data " + dir +
                "` again");
  }
  std::fprintf(
      stderr,
      "node %" PRIu64 " has a fresh log with disk id %" PRIu64
      "; its next start installs a snapshot from %s and catches up.\n%s\n",
      id->node_id, *disk, membership->peer.c_str(),
      membership->voter
          ? "It was a voter: once caught up it asks the leader to re-admit "
            "it with its new disk (demote, then promote), automatically."
          : "It was a learner and stays one.");
  return 0;
}

}  // namespace paxosfs::cli
