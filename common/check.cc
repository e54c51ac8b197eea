#include "common/check.h"

#include <cstdio>
#include <cstdlib>

namespace paxosfs::internal {

void CheckFailed(const char* file, int line, const char* expr,
                 const char* message) {
  std::fprintf(stderr, "paxosfs: invariant violated at %s:%d: %s%s%s\n", file,
               line, expr, message ? " — " : "", message ? message : "");
  std::fflush(stderr);
  std::abort();
}

}  // namespace paxosfs::internal
