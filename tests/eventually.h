// Waiting for a condition in tests: bounded, never a bare sleep.
#pragma once

#include <chrono>
#include <thread>

namespace paxosfs::testing {

// Polls `cond` every 20 ms until it holds or `timeout` passed; its last
// value.
template <typename F>
bool Eventually(F cond,
                std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

}  // namespace paxosfs::testing
