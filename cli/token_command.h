// `paxosfs token create`: prints a join token (tls/token.h) made by this
// node, which must hold the cluster's CA. The token is redeemed at this
// node by `paxosfs join --peer <this node> --token TOKEN`.
#pragma once

#include <string>

namespace paxosfs::cli {

struct TokenFlags {
  std::string data_dir = "/var/lib/paxosfs/main";
  std::string ttl = "1h";
};

// Returns the process exit code; the token goes to stdout, errors to
// stderr saying what to do.
int RunTokenCreate(const TokenFlags& flags);

}  // namespace paxosfs::cli
