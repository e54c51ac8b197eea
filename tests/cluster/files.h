// File helpers for the cluster tests: whole-file writes and reads through
// a mount, and deterministic contents.
#pragma once

#include <cstddef>
#include <string>

namespace paxosfs::testing {

// Writes `data` to `path` (created or truncated) in 1 MiB writes; fsyncs
// before close if `sync`. False on any error.
bool WriteFile(const std::string& path, const std::string& data,
               bool sync = false);

// The same, returning 0 or the errno of the first call that failed (open,
// write, fsync or close).
int WriteFileError(const std::string& path, const std::string& data, bool sync);

// The file's contents, or "<strerror>" if it cannot be opened.
std::string ReadFile(const std::string& path);

// `size` pseudo-random bytes determined by `seed`.
std::string Pattern(size_t size, int seed);

// What statfs says of `path`: a live FUSE mount, a FUSE mount whose daemon
// died (ENOTCONN), or anything else (a plain directory, or an error).
enum class MountState { kFuse, kDead, kOther };
MountState StatMount(const std::string& path);

}  // namespace paxosfs::testing
