// Helpers shared by the log tests.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "log/fault_injection_env.h"
#include "log/file_log.h"
#include "log/format.h"
#include "log/log.h"

namespace paxosfs::log {

inline constexpr char kDir[] = "/log";

// A deterministic value of `size` bytes that differs per slot and round.
inline std::string ValueFor(uint64_t slot, uint64_t round, size_t size = 100) {
  std::string v(size, '\0');
  for (size_t i = 0; i < size; ++i) {
    v[i] = static_cast<char>('a' + (slot * 7 + round * 13 + i) % 26);
  }
  return v;
}

inline Entry MakeEntry(uint64_t slot, uint64_t round = 1, bool chosen = false,
                       size_t size = 100) {
  return Entry{.slot = slot,
               .ballot_round = round,
               .ballot_node = 1,
               .chosen = chosen,
               .value = ValueFor(slot, round, size)};
}

inline Status AppendOne(Log& log, const Entry& e) {
  return log.Append(std::span<const Entry>(&e, 1));
}

inline std::string SegmentPathIn(const std::string& dir, uint64_t sequence) {
  return dir + "/" + SegmentFileName(sequence);
}

inline size_t CountSegments(Env* env, const std::string& dir = kDir) {
  StatusOr<std::vector<std::string>> children = env->GetChildren(dir);
  EXPECT_TRUE(children.ok());
  size_t n = 0;
  for (const std::string& c : *children) n += ParseSegmentFileName(c) ? 1 : 0;
  return n;
}

// Opens the log in kDir of `env`, failing the test if that fails.
inline std::unique_ptr<Log> MustOpen(Env* env, FileLogOptions options = {},
                                     RecoveryReport* report = nullptr) {
  StatusOr<std::unique_ptr<Log>> log = OpenFileLog(env, kDir, options, report);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? std::move(*log) : nullptr;
}

}  // namespace paxosfs::log
