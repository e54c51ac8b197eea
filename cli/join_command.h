// `paxosfs join`: makes a fresh data directory a member of a running
// cluster, then serves it. Generates this node's key, fetches the CA
// certificate from --peer and checks it against the token's fingerprint,
// then redeems the token there (cli/join_service.h): --peer admits this
// node as a learner and signs its certificate. It records the cluster's
// configurations in the new log, marks the directory for a rebuild
// (cli/rebuild.h) and runs `serve`, which streams a snapshot and then follows
// the log. Run again on a directory whose join was interrupted, it resumes: the
// admission is idempotent by address and the snapshot download continues.
#pragma once

#include <string>

#include "cli/serve_command.h"

namespace paxosfs::cli {

struct JoinFlags {
  std::string peer;    // Any member's peer service, host:port.
  std::string listen;  // This node's peer service, host:port.
  std::string token;   // From `paxosfs token create`; unneeded to resume.
  ServeFlags serve;    // data_dir, mount_point / no_mount, verbose, promote.
};

// Returns the process exit code; errors go to stderr saying what to do.
int RunJoin(const JoinFlags& flags);

}  // namespace paxosfs::cli
