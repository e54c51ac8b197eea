#include "tests/faults/launcher.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "cli/process.h"

namespace paxosfs::faults {
namespace {

bool WriteAll(int fd, const std::string& data) {
  for (size_t done = 0; done < data.size();) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Reads up to and including '\n' (the protocol's framing); false on EOF.
bool ReadLine(int fd, std::string* line) {
  line->clear();
  for (char c; read(fd, &c, 1) == 1;) {
    if (c == '\n') return true;
    *line += c;
  }
  return false;
}

bool ReadExactly(int fd, size_t size, std::string* out) {
  out->assign(size, '\0');
  for (size_t done = 0; done < size;) {
    ssize_t n = read(fd, out->data() + done, size - done);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// In the helper: one command, bounded; "<rc> <bytes>\n<output>" back.
void Execute(const std::string& command, int reply_fd) {
  std::vector<std::string> argv = {"/usr/bin/env"};
  std::stringstream in(command);
  for (std::string w; in >> w;) argv.push_back(w);
  std::string log = "/tmp/paxosfs-faults-launcher-" + std::to_string(getpid());
  unlink(log.c_str());
  auto child = cli::Spawn(argv, log);
  int status = 0;
  bool exited = child.ok() &&
                cli::WaitExit(child->pid, std::chrono::seconds(20), &status);
  if (child.ok() && !exited) cli::Kill9(&*child);
  std::stringstream output;
  output << std::ifstream(log).rdbuf();
  unlink(log.c_str());
  std::string text = output.str() + (exited ? "" : "(did not finish in 20 s)");
  int rc = exited && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  WriteAll(reply_fd, std::to_string(rc) + " " + std::to_string(text.size()) +
                         "\n" + text);
}

}  // namespace

Launcher::Launcher() {
  int to[2], from[2];
  if (pipe2(to, O_CLOEXEC) != 0 || pipe2(from, O_CLOEXEC) != 0) {
    throw std::runtime_error("launcher: pipe failed");
  }
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("launcher: fork failed");
  if (pid_ == 0) {
    close(to[1]);
    close(from[0]);
    for (std::string command; ReadLine(to[0], &command);) {
      Execute(command, from[1]);
    }
    _exit(0);
  }
  close(to[0]);
  close(from[1]);
  to_helper_ = to[1];
  from_helper_ = from[0];
}

Launcher::~Launcher() {
  close(to_helper_);  // The helper exits at EOF.
  close(from_helper_);
  if (pid_ > 0) waitpid(pid_, nullptr, 0);
}

int Launcher::Run(const std::string& command, std::string* out) {
  std::string header, text;
  if (!WriteAll(to_helper_, command + "\n") ||
      !ReadLine(from_helper_, &header)) {
    return -1;
  }
  std::stringstream fields(header);
  int rc = -1;
  size_t size = 0;
  fields >> rc >> size;
  if (!ReadExactly(from_helper_, size, &text)) return -1;
  if (out != nullptr) *out = text;
  return rc;
}

}  // namespace paxosfs::faults
