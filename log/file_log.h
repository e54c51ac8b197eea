// The file implementation of Log: append-only segment files in a directory,
// every record framed and checksummed, group-committed fdatasync. The format
// and the recovery rules are in log/README.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "log/env.h"
#include "log/log.h"

namespace paxosfs::log {

struct FileLogOptions {
  // A segment is closed and a new one started once the next record would
  // take it past this size. A record larger than the bound gets a segment of
  // its own. Smaller segments free space sooner after TruncatePrefix.
  uint64_t segment_bytes_max = 64ull << 20;
  // Bound on records buffered but not yet written: an Append that takes the
  // buffer past it syncs before returning, so a caller that forgets to Sync
  // cannot grow memory without limit.
  uint64_t buffered_bytes_max = 256ull << 20;
};

// What Open found and repaired, for the caller's logs.
struct RecoveryReport {
  uint64_t segments = 0;        // Segment files replayed.
  uint64_t records = 0;         // Valid records replayed.
  uint64_t torn_bytes_cut = 0;  // Bytes of an unfinished write removed.
  std::string torn_segment;     // The file they were cut from, if any.
  // Zeros removed from the newest segment's end: written ahead of appends
  // (PosixEnv) or by a file system that grew the file before a write.
  uint64_t zero_bytes_cut = 0;
};

// Opens the log in `dir` (created if missing), replaying every segment.
// An unfinished write at the end of the newest segment (a crash during an
// append) is cut, made durable, and described in *report. Anything else that
// fails its checksum is Status::Corruption naming the file and offset: the
// node must not vote with this log; rebuild it from peers.
// A LOCK file in `dir` keeps a second process (or a second OpenFileLog in
// this one) out: that Open fails with Unavailable.
// REQUIRES: `env` outlives the log.
StatusOr<std::unique_ptr<Log>> OpenFileLog(Env* env, const std::string& dir,
                                           const FileLogOptions& options = {},
                                           RecoveryReport* report = nullptr);

}  // namespace paxosfs::log
