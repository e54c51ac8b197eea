// The file-system seam of the log (after leveldb include/leveldb/env.h).
//
// Every byte the log reads or writes goes through an Env, so tests can swap
// the real disk (PosixEnv) for FaultInjectionEnv, which fails writes and
// fsyncs, drops unsynced bytes on a simulated crash and flips bits.
//
// Durability contract, the one the log relies on and FaultInjectionEnv
// models: bytes appended to a file are durable once WritableFile::Sync()
// returned OK; a file's existence, removal or new name is durable once
// SyncDir() on its directory returned OK. After a crash, a file holds its
// synced bytes followed by some prefix (possibly empty) of its unsynced bytes.
// A writable file may also hold zeros past its appended bytes (PosixEnv
// writes them ahead of small appends) until Seal(); unsynced bytes written
// over such zeros may then be missing whole sectors at a time.
//
// Errors: ENOSPC and EDQUOT become Status::NoSpace, ENOENT NotFound, anything
// else IOError; messages name the file and the failed call.
//
// Thread safety: Env implementations are thread-safe. A WritableFile is used
// by one thread at a time; a RandomAccessFile may be read from many threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace paxosfs::log {

class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Appends `data` at the end of the file (not durable until Sync).
  virtual Status Append(std::string_view data) = 0;
  // Makes every appended byte durable (fdatasync). After a failed Sync the
  // state of the unsynced bytes is unknown; callers must not retry it as if
  // nothing happened (see log/README.md, "fsync failures").
  virtual Status Sync() = 0;
  // Sync(), then cuts anything the file holds past its appended bytes and
  // makes that durable: call it before leaving a file for good, so only the
  // file written last can end in zeros.
  virtual Status Seal() { return Sync(); }
};

class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to `n` bytes at `offset` into *out (replacing its contents).
  // Fewer bytes come back only at the end of the file.
  virtual Status Read(uint64_t offset, size_t n, std::string* out) const = 0;
};

// Held while a process owns a directory; released when destroyed.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class Env {
 public:
  virtual ~Env() = default;

  // Creates `name`, or truncates it to zero bytes if it exists.
  virtual StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& name) = 0;
  // Opens an existing file for appending at its end (zeros left by a
  // file that was not sealed count as bytes: cut them first).
  virtual StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& name) = 0;
  virtual StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& name) = 0;

  // Names (not paths) of the entries of `dir`, without "." and "..".
  virtual StatusOr<std::vector<std::string>> GetChildren(
      const std::string& dir) = 0;
  virtual StatusOr<uint64_t> GetFileSize(const std::string& name) = 0;
  virtual Status RemoveFile(const std::string& name) = 0;
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  // Cuts `name` to `size` bytes and makes the new size durable.
  virtual Status TruncateFile(const std::string& name, uint64_t size) = 0;
  // Creates `dir` if it does not exist (OK if it does).
  virtual Status CreateDir(const std::string& dir) = 0;
  // Makes creations, removals and renames in `dir` durable (fsync of dir).
  virtual Status SyncDir(const std::string& dir) = 0;
  // Takes an exclusive advisory lock on `name` (created if missing), held
  // until the returned object is destroyed. Unavailable if another holder
  // (another process, or another lock object in this one) has it.
  virtual StatusOr<std::unique_ptr<FileLock>> LockFile(
      const std::string& name) = 0;
};

// The real file system. Returns a process-wide instance; never deleted.
// Its writable files drop what they synced from the page cache, trailing
// their end by kPosixCacheLagBytes, at most once per kPosixDropStepBytes
// (log/README.md, "Page cache"). After kPosixZeroAheadAfterSyncs syncs in a
// row of fewer than kPosixZeroAheadBatchBytes each, they keep
// kPosixZeroAheadBytes of zeros written past their end, so that the next
// small syncs overwrite allocated blocks instead of growing the file
// ("Zeros ahead").
Env* PosixEnv();
inline constexpr uint64_t kPosixCacheLagBytes = 8 << 20;
inline constexpr uint64_t kPosixDropStepBytes = 1 << 20;
inline constexpr uint64_t kPosixZeroAheadBytes = 1 << 20;
inline constexpr uint64_t kPosixZeroAheadBatchBytes = 64 << 10;
inline constexpr uint64_t kPosixZeroAheadAfterSyncs = 8;
// The unit a crash loses unsynced bytes written over zeros in (the contract
// above): the smallest disk sector, the one recovery's torn-write tests and
// FaultInjectionEnv's model both assume.
inline constexpr uint64_t kDiskSectorBytes = 512;

}  // namespace paxosfs::log
