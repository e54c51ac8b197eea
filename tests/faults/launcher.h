// Runs commands for a fault test from a process forked before any mount is
// used. Forking from the test process itself is unsafe once a node is
// paused: the child gets copies of the clients' descriptors on that
// node's mount, and closing them (at exec, even with O_CLOEXEC) sends the
// kernel's FLUSH to the stopped daemon, so the child hangs in D state.
//
// Thread safety: one thread at a time calls Run().
#pragma once

#include <sys/types.h>

#include <string>

namespace paxosfs::faults {

class Launcher {
 public:
  Launcher();   // Forks the helper; throws std::runtime_error on failure.
  ~Launcher();  // Ends the helper.
  Launcher(const Launcher&) = delete;
  Launcher& operator=(const Launcher&) = delete;

  // Runs `command` (words split at spaces, found on PATH, no shell) and
  // waits at most 20 s, then kills it. Its exit code, or -1; its stdout
  // and stderr in `*out` if given.
  int Run(const std::string& command, std::string* out = nullptr);

 private:
  pid_t pid_ = -1;
  int to_helper_ = -1, from_helper_ = -1;
};

}  // namespace paxosfs::faults
