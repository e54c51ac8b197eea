// A fault-injection hook, for tests only: a node whose clock runs fast or
// slow. With PAXOSFS_TEST_CLOCK_RATE_FILE=PATH in its environment, `paxosfs
// serve` times everything its consensus driver times -- leases granted and
// held, election timeouts, heartbeats, read barriers -- by a RateClock
// (common/clock.h) running at the rate written in PATH ("0.992" is 0.8 %
// slow, "2" twice as fast), re-read every time serve polls (200 ms), so a
// test can skew a node that already leads. Write the file atomically
// (write a temporary file, rename it over PATH): a half-written "1.008"
// would read as "1".
//
// Unset (production), none of this exists. Set, serve logs a warning at
// start and at every change of rate. Rates beyond the drift bound the
// consensus core assumes (1 ± 1 %, replica/README.md) break its lease
// rule: that is what tests/faults shows with it.
//
// Thread safety: Poll from one thread; clock() is thread-safe.
#pragma once

#include <memory>
#include <string>

#include "common/clock.h"
#include "common/status.h"

namespace paxosfs::cli {

inline constexpr char kTestClockRateFileVariable[] =
    "PAXOSFS_TEST_CLOCK_RATE_FILE";

class TestClock {
 public:
  // nullptr when the variable is unset. Errors: the file cannot be read or
  // holds no rate in (0, 1000].
  static StatusOr<std::unique_ptr<TestClock>> FromEnvironment();

  const Clock* clock() const { return &clock_; }

  // Re-reads the file and applies a changed rate. A file that cannot be
  // read, or holds no rate, keeps the rate as it is (and says so once).
  void Poll();

 private:
  TestClock(std::string path, int64_t rate_ppm);

  const std::string path_;
  RateClock clock_;
  std::string complaint_;  // The last problem logged, not to repeat it.
};

}  // namespace paxosfs::cli
