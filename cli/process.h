// Child processes for `paxosfs demo` and the cluster tests: start with
// output to a file, stop politely with a bounded wait, kill -9, by PID.
//
// Thread safety: free functions; a Child is owned by one thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "common/status.h"

namespace paxosfs::cli {

struct Child {
  pid_t pid = -1;
  std::string log_path;  // stdout and stderr of the child.
};

// Starts argv[0] (a path) with `argv`, stdout and stderr appended to
// `log_path`, in its own process group, with no stdin.
StatusOr<Child> Spawn(const std::vector<std::string>& argv,
                      const std::string& log_path);

// True if `pid` exited (and was reaped) within `timeout`; stores how.
bool WaitExit(pid_t pid, std::chrono::milliseconds timeout,
              int* wait_status = nullptr);

// SIGTERM, then SIGKILL if it has not exited within `grace`. Reaps it.
void Stop(Child* child, std::chrono::milliseconds grace);

// SIGKILL and reap: a crash, for tests.
void Kill9(Child* child);

}  // namespace paxosfs::cli
