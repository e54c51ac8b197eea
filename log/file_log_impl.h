// FileLog's class, shared by its three source files. Internal to log/:
// users see only log/file_log.h and log/log.h.
//
//   file_log.cc           Append, SetMetadata, Get, TruncatePrefix
//   file_log_sync.cc      group commit: writing and syncing buffered records
//   file_log_recovery.cc  Open: replaying segments, cutting a torn tail
//
// Concurrency: mu_ guards the in-memory state (index, segment table, buffered
// records). No disk I/O happens under mu_: appends only encode and buffer;
// one thread at a time (the sync leader, sync_running_) writes the buffered
// records and fdatasyncs while others wait on sync_cv_ or keep appending.
// truncate_mu_ serializes TruncatePrefix calls and is held across their
// I/O on purpose: only another TruncatePrefix ever waits for it. Lock order:
// truncate_mu_, then mu_.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "log/file_log.h"
#include "log/format.h"

namespace paxosfs::log {

class FileLog final : public Log {
 public:
  FileLog(Env* env, std::string dir, FileLogOptions options);
  ~FileLog() override;

  Status Append(std::span<const Entry> entries) override;
  Status SetMetadata(std::string_view blob) override;
  Status Sync() override;
  StatusOr<Entry> Get(uint64_t slot) const override;
  uint64_t FirstSlot() const override;
  uint64_t LastSlot() const override;
  std::string Metadata() const override;
  Status TruncatePrefix(uint64_t first_slot) override;

  // Replays the directory; called once by OpenFileLog before any other use.
  Status Recover(RecoveryReport* report);

 private:
  // Where the latest Entry record of a slot is. A chosen mark after it does
  // not move it: it sets `chosen`.
  struct Location {
    uint64_t segment = 0;
    uint64_t offset = 0;
    uint64_t length = 0;           // Header and payload.
    uint64_t record_checksum = 0;  // The record's payload checksum.
    bool chosen = false;
    uint64_t value_checksum = 0;  // Of the value; set only when chosen.
  };
  struct Segment {
    std::shared_ptr<RandomAccessFile> reader;  // Null until the file exists.
    uint64_t written = 0;  // Bytes [0, written) are in the file.
    uint64_t size = 0;     // Bytes placed, written or still buffered.
    uint64_t live = 0;     // Index entries pointing into this segment.
    uint64_t records = 0;  // Records placed after the segment header.
  };
  // Encoded records not yet written to their segment, in file order.
  struct Piece {
    uint64_t segment = 0;
    uint64_t offset = 0;
    std::string bytes;
  };
  // An entry on its way into the buffer, prepared outside mu_.
  struct Staged {
    std::string record;              // The Entry record; empty if `mark`.
    uint64_t record_checksum = 0;    // Its payload checksum.
    uint64_t value_checksum = 0;     // Set when chosen.
    uint64_t accepted_checksum = 0;  // Set when `mark`: what it must follow.
    bool mark = false;  // A chosen mark for the slot's latest record.
  };
  // A segment file the sync leader created.
  struct Opened {
    uint64_t segment = 0;
    std::shared_ptr<RandomAccessFile> reader;
  };

  std::string SegmentPath(uint64_t segment) const;

  // State changes, shared by appends and replay. REQUIRES: mu_ held.
  Location Place(std::string record);
  void StartSegment();
  void IndexRecord(uint64_t slot, const Location& loc);
  void DropBelow(uint64_t first_slot);
  Segment& SegmentAt(uint64_t segment);
  void CheckChosenUnchanged(const Entry& entry, uint64_t value_checksum) const;
  bool CopyBuffered(const Location& loc, std::string* out) const;
  std::vector<uint64_t> DeadOldSegments() const;

  // Append's steps: encoding (without mu_) and buffering (with it).
  static std::vector<Staged> Stage(std::span<const Entry> entries,
                                   std::map<uint64_t, Location>* latest);
  std::optional<size_t> PlaceStaged(std::span<const Entry> entries,
                                    std::vector<Staged>& staged);

  // Sync leader work, without mu_. REQUIRES: sync_running_ set by this thread.
  Status WriteAndSync(const std::vector<Piece>& pieces,
                      std::vector<Opened>* opened);
  Status RemoveSegments(const std::vector<uint64_t>& segments);

  // Recovery steps (file_log_recovery.cc).
  // How the newest segment ends past its last good record.
  enum class Tail { kNone, kZeros, kTorn };
  Status ReplaySegment(uint64_t segment, bool last, uint64_t* good_end,
                       Tail* tail);
  Status ApplyRecord(uint64_t segment, uint64_t offset,
                     const RecordHeader& header, std::string_view payload);
  Status ApplyChosenMark(uint64_t segment, uint64_t offset,
                         const ChosenMark& mark);
  Status CutTornTail(uint64_t segment, uint64_t good_end, Tail tail,
                     RecoveryReport* report);
  Status CreateFirstSegment();
  Status ReopenLastSegment();
  Status Corrupt(uint64_t segment, uint64_t offset,
                 std::string_view what) const;

  Env* const env_;
  const std::string dir_;
  const FileLogOptions options_;

  std::mutex truncate_mu_;
  mutable std::mutex mu_;
  std::condition_variable sync_cv_;
  Status poison_;                         // GUARDED_BY(mu_)
  uint64_t first_slot_ = 1;               // GUARDED_BY(mu_)
  std::string metadata_;                  // GUARDED_BY(mu_)
  std::map<uint64_t, Location> index_;    // GUARDED_BY(mu_); by slot.
  std::map<uint64_t, Segment> segments_;  // GUARDED_BY(mu_); by sequence.
  uint64_t active_ = 0;                   // GUARDED_BY(mu_); newest segment.
  std::vector<Piece> pending_;            // GUARDED_BY(mu_)
  uint64_t pending_bytes_ = 0;            // GUARDED_BY(mu_)
  std::vector<Piece> flushing_;           // GUARDED_BY(mu_); see Sync().
  uint64_t placed_records_ = 0;           // GUARDED_BY(mu_)
  uint64_t durable_records_ = 0;          // GUARDED_BY(mu_)
  bool sync_running_ = false;             // GUARDED_BY(mu_)
  // Replay only: chosen marks whose record was not found because it may have
  // been in a segment TruncatePrefix deleted. That is sound only if a later
  // record or truncation makes the mark obsolete too; by slot.
  std::map<uint64_t, Location> unresolved_marks_;  // GUARDED_BY(mu_)

  std::unique_ptr<FileLock> dir_lock_;  // Set by Recover; held for life.

  // Owned by the sync leader (and by Recover before any leader exists).
  std::unique_ptr<WritableFile> writer_;
  uint64_t writer_segment_ = 0;
};

}  // namespace paxosfs::log
