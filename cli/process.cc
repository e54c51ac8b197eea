#include "cli/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace paxosfs::cli {

StatusOr<Child> Spawn(const std::vector<std::string>& argv,
                      const std::string& log_path) {
  int log_fd =
      open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return Status::IOError("cannot open " + log_path + ": " +
                           std::strerror(errno));
  }
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return Status::IOError(std::string("fork failed: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // Only async-signal-safe calls until exec.
    setpgid(0, 0);
    int null_fd = open("/dev/null", O_RDONLY);
    dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execv(args[0], args.data());
    _exit(127);
  }
  close(log_fd);
  return Child{pid, log_path};
}

bool WaitExit(pid_t pid, std::chrono::milliseconds timeout, int* wait_status) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) {
      if (wait_status != nullptr) *wait_status = status;
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    // waitpid has no timeout; poll at a pace that costs nothing.
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void Stop(Child* child, std::chrono::milliseconds grace) {
  if (child->pid <= 0) return;
  kill(child->pid, SIGTERM);
  if (!WaitExit(child->pid, grace)) {
    kill(child->pid, SIGKILL);
    WaitExit(child->pid, std::chrono::seconds(10));
  }
  child->pid = -1;
}

void Kill9(Child* child) {
  if (child->pid <= 0) return;
  kill(child->pid, SIGKILL);
  WaitExit(child->pid, std::chrono::seconds(10));
  child->pid = -1;
}

}  // namespace paxosfs::cli
