// Always-on invariant checks. A failed check means a programmer error or a
// broken consensus invariant: continuing could break agreement or corrupt
// data, so the process prints where and why, then aborts (LogCabin's PANIC,
// libfuse's abort()). Operating errors are Status values, never checks.
#pragma once

namespace paxosfs::internal {
[[noreturn]] void CheckFailed(const char* file, int line, const char* expr,
                              const char* message);
}  // namespace paxosfs::internal

#define PAXOSFS_CHECK(cond)                                                 \
  do {                                                                      \
    if (!(cond)) [[unlikely]]                                               \
      ::paxosfs::internal::CheckFailed(__FILE__, __LINE__, #cond, nullptr); \
  } while (0)

#define PAXOSFS_CHECK_MSG(cond, msg)                                    \
  do {                                                                  \
    if (!(cond)) [[unlikely]]                                           \
      ::paxosfs::internal::CheckFailed(__FILE__, __LINE__, #cond, msg); \
  } while (0)
