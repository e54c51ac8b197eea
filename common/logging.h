// Operator-facing log lines on stderr: "2026-11-22T07:40:01.123Z W peer: ...".
// One line per event, written with a single write(2) so lines from several
// threads never interleave. Messages say what happened and what to do.
//
// Thread safety: all functions are thread-safe.
#pragma once

namespace paxosfs {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Lines below `level` are dropped. Default: kInfo.
void SetLogLevel(LogLevel level);

// `component` names the subsystem ("peer", "log", "fuse").
void Logf(LogLevel level, const char* component, const char* format, ...)
    __attribute__((format(printf, 3, 4)));

}  // namespace paxosfs
