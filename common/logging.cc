#include "common/logging.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdio>

namespace paxosfs {
namespace {

std::atomic<int> min_level{static_cast<int>(LogLevel::kInfo)};

char LevelLetter(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return 'D';
    case LogLevel::kInfo:
      return 'I';
    case LogLevel::kWarning:
      return 'W';
    case LogLevel::kError:
      return 'E';
  }
  return '?';
}

}  // namespace

void SetLogLevel(LogLevel level) { min_level.store(static_cast<int>(level)); }

void Logf(LogLevel level, const char* component, const char* format, ...) {
  if (static_cast<int>(level) < min_level.load()) return;
  char line[2048];
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc;
  gmtime_r(&ts.tv_sec, &utc);
  int n = std::snprintf(
      line, sizeof(line),
      "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %c %s: ", utc.tm_year + 1900,
      utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
      ts.tv_nsec / 1'000'000, LevelLetter(level), component);
  va_list args;
  va_start(args, format);
  int m = std::vsnprintf(line + n, sizeof(line) - n - 1, format, args);
  va_end(args);
  size_t len =
      static_cast<size_t>(n) +
      static_cast<size_t>(m < 0 ? 0 : std::min<int>(m, sizeof(line) - n - 2));
  line[len++] = '\n';
  // A failed write to stderr has nowhere better to be reported.
  [[maybe_unused]] ssize_t ignored = write(STDERR_FILENO, line, len);
}

}  // namespace paxosfs
