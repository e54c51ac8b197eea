#include "cli/test_clock.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "common/logging.h"

namespace paxosfs::cli {
namespace {

constexpr double kMaxRate = 1000;

StatusOr<int64_t> ReadRatePpm(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return Status::NotFound(std::string(kTestClockRateFileVariable) +
                            " names " + path +
                            ", which cannot be read; write a clock rate "
                            "such as 0.992 in it, or unset the variable");
  }
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  char* end = nullptr;
  double rate = std::strtod(text.c_str(), &end);
  while (end != nullptr && (*end == ' ' || *end == '\n' || *end == '\t')) {
    ++end;
  }
  int64_t ppm = std::isfinite(rate) && rate > 0 && rate <= kMaxRate
                    ? std::llround(rate * 1e6)
                    : 0;
  if (end == text.c_str() || *end != '\0' || ppm <= 0) {
    return Status::InvalidArgument(
        path + " holds \"" + text +
        "\", not a clock rate; write a number in (0, 1000], such as 0.992");
  }
  return ppm;
}

}  // namespace

TestClock::TestClock(std::string path, int64_t rate_ppm)
    : path_(std::move(path)), clock_(&SystemClock::Instance(), rate_ppm) {}

StatusOr<std::unique_ptr<TestClock>> TestClock::FromEnvironment() {
  const char* path = std::getenv(kTestClockRateFileVariable);
  if (path == nullptr) return std::unique_ptr<TestClock>();
  auto ppm = ReadRatePpm(path);
  if (!ppm.ok()) return ppm.status();
  Logf(LogLevel::kWarning, "clock",
       "%s is set: this node's monotonic clock runs at %.6g times real time "
       "(read from %s). This is a fault-injection hook for tests; never set "
       "it in production: beyond the 1 %% drift bound, leases can serve "
       "stale reads",
       kTestClockRateFileVariable, static_cast<double>(*ppm) / 1e6, path);
  return std::unique_ptr<TestClock>(new TestClock(path, *ppm));
}

void TestClock::Poll() {
  auto ppm = ReadRatePpm(path_);
  if (!ppm.ok()) {
    if (ppm.status().ToString() != complaint_) {
      complaint_ = ppm.status().ToString();
      Logf(LogLevel::kWarning, "clock", "test clock rate unchanged: %s",
           complaint_.c_str());
    }
    return;
  }
  complaint_.clear();
  if (*ppm == clock_.rate_ppm()) return;
  clock_.SetRate(*ppm);
  Logf(LogLevel::kWarning, "clock", "test clock rate now %.6g",
       static_cast<double>(*ppm) / 1e6);
}

}  // namespace paxosfs::cli
