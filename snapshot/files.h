// Internal to snapshot/: small POSIX file helpers for snapshot files, with
// errors as Status values that name the path.
//
// Thread safety: reentrant.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace paxosfs::snapshot {

// "open /x/y: No such file or directory" as kIOError (kNoSpace for ENOSPC).
Status ErrnoStatus(const std::string& what, const std::string& path);

std::string DirName(const std::string& path);
bool FileExists(const std::string& path);

// fsync of a file or a directory.
Status SyncPath(const std::string& path);

// Removes `path` if it exists.
Status RemoveIfExists(const std::string& path);

// Writes `contents` to `path` so that a crash leaves the old contents or the
// new ones: a temporary file, fsync, rename, fsync of the directory.
Status WriteFileDurably(const std::string& path, const std::string& contents);

StatusOr<std::string> ReadSmallFile(const std::string& path);

struct FileSum {
  uint64_t bytes = 0;
  uint64_t checksum = 0;  // XXH3-64 of all bytes.
};
// Reads the file through a bounded buffer.
StatusOr<FileSum> ChecksumFile(const std::string& path);

}  // namespace paxosfs::snapshot
