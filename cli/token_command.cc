#include "cli/token_command.h"

#include <cstdio>

#include "cli/data_dir.h"
#include "cli/input_checks.h"
#include "cli/tls_files.h"
#include "common/clock.h"
#include "tls/token.h"

namespace paxosfs::cli {

int RunTokenCreate(const TokenFlags& flags) {
  auto fail = [](const std::string& what) {
    std::fprintf(stderr, "paxosfs token create: %s\n", what.c_str());
    return kExitFailed;
  };
  auto ttl = tls::ParseTtl(flags.ttl);
  if (!ttl.ok()) {
    fail(ttl.status().message());
    return kExitUsage;
  }
  auto id = ReadIdentity(flags.data_dir);
  if (!id.ok()) return fail(id.status().ToString());
  auto ca = LoadCa(TlsDir(flags.data_dir));
  if (!ca.ok()) {
    return fail("node " + std::to_string(id->node_id) +
                " does not hold the cluster's CA (" + ca.status().message() +
                "); run this on a node that does (a founder, made by "
                "`paxosfs init`)");
  }
  int64_t now = SystemClock::Instance().WallNanos() / 1'000'000'000;
  auto token = tls::NewToken(ca->key_pem, ca->cert_pem, id->node_id, *ttl, now);
  if (!token.ok()) return fail(token.status().ToString());
  std::printf("%s\n", tls::FormatToken(*token).c_str());
  std::fprintf(stderr,
               "valid for %lld s, for one node; on the new machine run:\n"
               "  paxosfs join --peer %s --token TOKEN --data DIR "
               "--listen HOST:PORT (--mount DIR | --no-mount)\n",
               static_cast<long long>(*ttl), id->listen.c_str());
  return 0;
}

}  // namespace paxosfs::cli
