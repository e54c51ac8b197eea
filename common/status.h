// Status and StatusOr: fallible operations return values, never throw.
//
// A Status is either OK or carries a code and a human-readable message that
// says what went wrong and, where possible, what to do about it. Operating
// errors (disk full, peer down, corrupt record) are Status values; programmer
// errors use PAXOSFS_CHECK (common/check.h) and stop the process.
//
// Thread safety: values; distinct objects may be used from distinct threads.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/check.h"

namespace paxosfs {

enum class StatusCode {
  kOk = 0,
  kNotFound,
  kAlreadyExists,
  kInvalidArgument,
  kCorruption,
  kIOError,
  kNoSpace,
  kUnavailable,  // No leader, peer down, election in progress: retry later.
  kAborted,      // Superseded (e.g. a higher ballot) or shutting down.
  kTimedOut,
  kPermissionDenied,
};

// Stable, lower-case name of a code, used in messages and logs.
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status NotFound(std::string m) {
    return {StatusCode::kNotFound, std::move(m)};
  }
  static Status AlreadyExists(std::string m) {
    return {StatusCode::kAlreadyExists, std::move(m)};
  }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status Corruption(std::string m) {
    return {StatusCode::kCorruption, std::move(m)};
  }
  static Status IOError(std::string m) {
    return {StatusCode::kIOError, std::move(m)};
  }
  static Status NoSpace(std::string m) {
    return {StatusCode::kNoSpace, std::move(m)};
  }
  static Status Unavailable(std::string m) {
    return {StatusCode::kUnavailable, std::move(m)};
  }
  static Status Aborted(std::string m) {
    return {StatusCode::kAborted, std::move(m)};
  }
  static Status TimedOut(std::string m) {
    return {StatusCode::kTimedOut, std::move(m)};
  }
  static Status PermissionDenied(std::string m) {
    return {StatusCode::kPermissionDenied, std::move(m)};
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "corruption: bad checksum in segment 3 at offset 4096".
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context`, so callers can
  // say where an error happened without losing its code.
  Status WithContext(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Holds either a value or a non-OK Status.
// REQUIRES: constructed from a Status only when that Status is not OK.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT
    PAXOSFS_CHECK(!status_.ok());
  }
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  // REQUIRES: ok().
  T& value() & {
    PAXOSFS_CHECK(ok());
    return *value_;
  }
  const T& value() const& {
    PAXOSFS_CHECK(ok());
    return *value_;
  }
  T&& value() && {
    PAXOSFS_CHECK(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace paxosfs

// Returns early from the enclosing function if `expr` is not OK.
#define PAXOSFS_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::paxosfs::Status paxosfs_status_ = (expr);        \
    if (!paxosfs_status_.ok()) return paxosfs_status_; \
  } while (0)
