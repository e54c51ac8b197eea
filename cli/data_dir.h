// A node's data directory: who the node is (cluster id, node id, listen
// address, the cluster's initial members) and where its log and store live.
//
//   DIR/identity   text, one key=value per line, ending in a checksum line
//   DIR/log/       the replicated log (log/)
//   DIR/state.db   the filesystem store (snapshot/, fsm/)
//
// The identity is written once by `paxosfs init` (atomically: temp file,
// fsync, rename, fsync of the directory) and checked at every start, so a
// node never serves with another cluster's data or a damaged identity.
//
// Thread safety: plain values and free functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "replica/core/types.h"

namespace paxosfs::cli {

struct Member {
  uint64_t id = 0;
  std::string address;  // host:port of its peer service.
  bool operator==(const Member&) const = default;
};

struct Identity {
  std::string cluster_id;
  uint64_t node_id = 0;
  std::string listen;
  std::vector<Member> members;  // The initial voters, this node included.
  bool operator==(const Identity&) const = default;
};

// The cluster's first configuration: every initial member votes, with its
// node id as the id of the disk it votes with (a node whose disk is wiped
// comes back with a new disk id, so it cannot vote until re-admitted).
replica::Config GenesisConfig(const Identity& identity);

std::string LogDir(const std::string& data_dir);
std::string StorePath(const std::string& data_dir);

// Parses "1@127.0.0.1:7001,2@127.0.0.1:7002". Errors say which item is bad.
StatusOr<std::vector<Member>> ParseMembers(const std::string& text);
std::string FormatMembers(const std::vector<Member>& members);

// Creates DIR (and parents) and writes its identity. Refuses a directory
// that already holds one (kAlreadyExists, naming its cluster and node).
Status CreateDataDir(const std::string& dir, const Identity& identity);

// Writes DIR/NAME so that a crash leaves the old contents or the new ones
// (a temporary file, fsync, rename, fsync of DIR). Files are created 0600.
Status WriteFileDurably(const std::string& dir, const std::string& name,
                        const std::string& data);

// Reads and checks DIR's identity: kNotFound if DIR was never initialised,
// kCorruption (with the line and the fix) if the file is damaged.
StatusOr<Identity> ReadIdentity(const std::string& dir);

}  // namespace paxosfs::cli
