// Open: replay every segment in order, rebuild the index, and decide what a
// bad record means. The rules (log/README.md, "Recovery") in short: only the
// newest segment can end in an unfinished write, because a segment is synced
// and sealed before the next one is created; an unfinished write looks like
// a record that runs past the end of the file, a tail of zeros, or a record
// written over zeros that still misses a sector of them. That is cut. Any
// other damage, anywhere, is Corruption: the bytes were once reported
// durable, and cutting them could erase a vote the node already gave.
#include <algorithm>

#include "common/checksum.h"
#include "log/file_log_impl.h"

namespace paxosfs::log {
namespace {

constexpr size_t kZeroScanBytes = 1 << 20;

// True if every byte of `file` from `offset` on is zero: a file system that
// extended the file size before writing the data leaves such a tail.
StatusOr<bool> ZeroFrom(const RandomAccessFile& file, uint64_t offset,
                        uint64_t size) {
  std::string chunk;
  while (offset < size) {
    PAXOSFS_RETURN_IF_ERROR(file.Read(offset, kZeroScanBytes, &chunk));
    if (chunk.empty()) break;
    if (std::any_of(chunk.begin(), chunk.end(), [](char c) { return c; })) {
      return false;
    }
    offset += chunk.size();
  }
  return true;
}

// A record that fails its checksum at the end of the newest segment, where
// PosixEnv writes zeros ahead of appends, is an unfinished write if the file
// goes on past it with nothing but zeros and one of the disk sectors it was
// written into is still all zeros: a crash leaves whole sectors unwritten,
// bit rot does not zero one (etcd's WAL applies the same rule to its
// preallocated segments). A sector counts if the record covers it or ends in
// it; the one it starts in also held the record before, so never does.
StatusOr<bool> TornOverZeros(const RandomAccessFile& file, uint64_t offset,
                             std::string_view record, uint64_t size) {
  const uint64_t end = offset + record.size();
  if (size <= end) return false;
  StatusOr<bool> zeros_after = ZeroFrom(file, end, size);
  if (!zeros_after.ok() || !*zeros_after) return zeros_after;
  uint64_t sector =
      (offset + kDiskSectorBytes - 1) / kDiskSectorBytes * kDiskSectorBytes;
  for (; sector < end && sector + kDiskSectorBytes <= size;
       sector += kDiskSectorBytes) {
    std::string_view bytes = record.substr(
        sector - offset, std::min(kDiskSectorBytes, end - sector));
    if (std::all_of(bytes.begin(), bytes.end(),
                    [](char c) { return c == 0; })) {
      return true;
    }
  }
  return false;
}

// A header that does not decode, written over zeros across a sector
// boundary, the sector after it never written: only zeros from that
// boundary on.
StatusOr<bool> HeaderTornOverZeros(const RandomAccessFile& file,
                                   uint64_t offset, uint64_t size) {
  const uint64_t boundary = (offset / kDiskSectorBytes + 1) * kDiskSectorBytes;
  if (boundary >= offset + kRecordHeaderBytes || boundary >= size) {
    return false;
  }
  return ZeroFrom(file, boundary, size);
}

std::string ParentDir(const std::string& dir) {
  size_t slash = dir.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : dir.substr(0, slash);
}

}  // namespace

StatusOr<std::unique_ptr<Log>> OpenFileLog(Env* env, const std::string& dir,
                                           const FileLogOptions& options,
                                           RecoveryReport* report) {
  auto log = std::make_unique<FileLog>(env, dir, options);
  RecoveryReport local;
  PAXOSFS_RETURN_IF_ERROR(log->Recover(report ? report : &local));
  return std::unique_ptr<Log>(std::move(log));
}

Status FileLog::Corrupt(uint64_t segment, uint64_t offset,
                        std::string_view what) const {
  return Status::Corruption(
      SegmentPath(segment) + " at offset " + std::to_string(offset) + ": " +
      std::string(what) +
      ". The log is corrupt; this node must not vote with it: rebuild the "
      "node from its peers (paxosfs rebuild moves the damaged log aside and "
      "keeps it).");
}

Status FileLog::Recover(RecoveryReport* report) {
  PAXOSFS_RETURN_IF_ERROR(env_->CreateDir(dir_));
  // The directory's own entry must be durable too, or a crash could take
  // the whole log with it after records were reported durable.
  PAXOSFS_RETURN_IF_ERROR(env_->SyncDir(ParentDir(dir_)));
  StatusOr<std::unique_ptr<FileLock>> lock = env_->LockFile(dir_ + "/LOCK");
  if (!lock.ok()) return lock.status();
  dir_lock_ = std::move(*lock);
  StatusOr<std::vector<std::string>> children = env_->GetChildren(dir_);
  if (!children.ok()) return children.status();
  std::vector<uint64_t> sequences;
  for (const std::string& name : *children) {
    if (std::optional<uint64_t> s = ParseSegmentFileName(name)) {
      sequences.push_back(*s);
    }
  }
  if (sequences.empty()) return CreateFirstSegment();
  std::sort(sequences.begin(), sequences.end());
  for (size_t i = 1; i < sequences.size(); ++i) {
    if (sequences[i] != sequences[i - 1] + 1) {
      return Corrupt(sequences[i - 1] + 1, 0, "segment file is missing");
    }
  }
  for (uint64_t sequence : sequences) {
    bool last = sequence == sequences.back();
    uint64_t good_end = 0;
    Tail tail = Tail::kNone;
    PAXOSFS_RETURN_IF_ERROR(ReplaySegment(sequence, last, &good_end, &tail));
    ++report->segments;
    if (last) {
      PAXOSFS_RETURN_IF_ERROR(CutTornTail(sequence, good_end, tail, report));
    }
  }
  if (!unresolved_marks_.empty()) {
    const auto& [slot, mark] = *unresolved_marks_.begin();
    return Corrupt(mark.segment, mark.offset,
                   "chosen mark for slot " + std::to_string(slot) +
                       " whose record is missing");
  }
  report->records = placed_records_;
  if (segments_.empty()) return CreateFirstSegment();
  return ReopenLastSegment();
}

// Reads records until the end of the file or the first one that does not
// check out. *good_end is the end of the last good record.
Status FileLog::ReplaySegment(uint64_t segment, bool last, uint64_t* good_end,
                              Tail* tail) {
  const std::string path = SegmentPath(segment);
  StatusOr<std::unique_ptr<RandomAccessFile>> opened =
      env_->NewRandomAccessFile(path);
  if (!opened.ok()) return opened.status();
  std::shared_ptr<RandomAccessFile> file = std::move(*opened);
  StatusOr<uint64_t> size = env_->GetFileSize(path);
  if (!size.ok()) return size.status();
  segments_[segment] = Segment{.reader = file};
  active_ = segment;

  uint64_t offset = 0;
  std::string header_bytes;
  std::string payload;
  while (offset < *size) {
    PAXOSFS_RETURN_IF_ERROR(
        file->Read(offset, kRecordHeaderBytes, &header_bytes));
    std::optional<RecordHeader> header = DecodeHeader(header_bytes);
    bool complete =
        header && offset + kRecordHeaderBytes + header->length <= *size;
    if (complete) {
      PAXOSFS_RETURN_IF_ERROR(
          file->Read(offset + kRecordHeaderBytes, header->length, &payload));
      if (!PayloadMatches(*header, payload)) {
        // A complete record that fails its checksum: bit rot, or a torn
        // write on a file system that does not order data before size
        // updates. The two look alike, and cutting could erase an
        // acknowledged vote, so it is reported, even at the very tail;
        // unless it was written over zeros and is still missing sectors.
        StatusOr<bool> torn =
            last ? TornOverZeros(*file, offset, header_bytes + payload, *size)
                 : false;
        if (!torn.ok()) return torn.status();
        if (*torn) {
          *tail = Tail::kTorn;
          break;
        }
        return Corrupt(segment, offset, "record checksum mismatch");
      }
      PAXOSFS_RETURN_IF_ERROR(ApplyRecord(segment, offset, *header, payload));
      offset += kRecordHeaderBytes + header->length;
      continue;
    }
    // A header cut short, a record running past the end of the file, a
    // tail of zeros, or a header written over zeros whose second sector
    // never was: what a crash during an append leaves, but only at the end
    // of the newest segment.
    bool torn = !header_bytes.empty() &&
                (header_bytes.size() < kRecordHeaderBytes || header);
    bool zeros = false;
    if (!torn && last) {
      StatusOr<bool> zero = ZeroFrom(*file, offset, *size);
      if (!zero.ok()) return zero.status();
      zeros = *zero;
      if (!zeros && !header) {
        StatusOr<bool> cut = HeaderTornOverZeros(*file, offset, *size);
        if (!cut.ok()) return cut.status();
        torn = *cut;
      }
    }
    if ((torn || zeros) && last) {
      *tail = zeros ? Tail::kZeros : Tail::kTorn;
      break;
    }
    return Corrupt(
        segment, offset,
        torn ? "record cut short in a closed segment" : "bad record header");
  }
  if (offset == 0 && !last) return Corrupt(segment, 0, "empty segment");
  *good_end = offset;
  SegmentAt(segment).size = offset;
  SegmentAt(segment).written = offset;
  return Status::Ok();
}

Status FileLog::ApplyRecord(uint64_t segment, uint64_t offset,
                            const RecordHeader& header,
                            std::string_view payload) {
  bool first = offset == 0;
  if (first != (header.type == RecordType::kSegmentHeader)) {
    return Corrupt(segment, offset, "segment header misplaced or missing");
  }
  ++placed_records_;
  ++durable_records_;
  switch (header.type) {
    case RecordType::kSegmentHeader: {
      std::optional<SegmentHeader> h = DecodeSegmentHeader(payload);
      if (!h || h->sequence != segment) {
        return Corrupt(segment, offset, "bad segment header");
      }
      DropBelow(h->first_slot);
      metadata_ = std::move(h->metadata);
      return Status::Ok();
    }
    case RecordType::kEntry: {
      std::optional<Entry> e = DecodeEntry(payload);
      if (!e) return Corrupt(segment, offset, "malformed entry");
      ++SegmentAt(segment).records;
      if (e->slot < first_slot_) return Status::Ok();
      IndexRecord(e->slot,
                  {.segment = segment,
                   .offset = offset,
                   .length = kRecordHeaderBytes + payload.size(),
                   .record_checksum = header.payload_checksum,
                   .chosen = e->chosen,
                   .value_checksum = e->chosen ? Checksum64(e->value) : 0});
      return Status::Ok();
    }
    case RecordType::kChosenMark: {
      std::optional<ChosenMark> mark = DecodeChosenMark(payload);
      if (!mark) return Corrupt(segment, offset, "malformed chosen mark");
      ++SegmentAt(segment).records;
      if (mark->slot < first_slot_) return Status::Ok();
      return ApplyChosenMark(segment, offset, *mark);
    }
    case RecordType::kMetadata:
      ++SegmentAt(segment).records;
      metadata_.assign(payload);
      return Status::Ok();
    case RecordType::kTruncatePrefix: {
      std::optional<uint64_t> first_slot = DecodeTruncate(payload);
      if (!first_slot) return Corrupt(segment, offset, "malformed truncate");
      ++SegmentAt(segment).records;
      DropBelow(*first_slot);
      return Status::Ok();
    }
  }
  return Corrupt(segment, offset, "unknown record type");
}

// A mark is written only right after its record was the slot's latest, and
// a record's segment outlives every later one's (TruncatePrefix deletes only
// the oldest segments), so the record must be the slot's latest now, unless
// its segment was deleted: then the mark must be obsolete too (see
// unresolved_marks_), which Recover checks once every segment is replayed.
Status FileLog::ApplyChosenMark(uint64_t segment, uint64_t offset,
                                const ChosenMark& mark) {
  auto it = index_.find(mark.slot);
  if (it == index_.end() && mark.record_segment < segments_.begin()->first) {
    unresolved_marks_[mark.slot] = {.segment = segment, .offset = offset};
    return Status::Ok();
  }
  if (it == index_.end() || it->second.segment != mark.record_segment ||
      it->second.offset != mark.record_offset) {
    return Corrupt(segment, offset,
                   "chosen mark for slot " + std::to_string(mark.slot) +
                       " does not follow its record (" +
                       SegmentFileName(mark.record_segment) + " at offset " +
                       std::to_string(mark.record_offset) + ")");
  }
  it->second.chosen = true;
  it->second.value_checksum = mark.value_checksum;
  return Status::Ok();
}

// The end of the newest segment held an unfinished write: cut it, durably,
// so the next append does not land after garbage. A segment whose very
// header was torn never held a record anyone was told is durable.
Status FileLog::CutTornTail(uint64_t segment, uint64_t good_end, Tail tail,
                            RecoveryReport* report) {
  const std::string path = SegmentPath(segment);
  StatusOr<uint64_t> size = env_->GetFileSize(path);
  if (!size.ok()) return size.status();
  // An empty newest segment (a crash between creating the file and writing
  // its header) is torn too: kept, it would be appended to without a header.
  if (*size == good_end && good_end > 0) return Status::Ok();
  if (tail == Tail::kZeros) {
    report->zero_bytes_cut = *size - good_end;
  } else {
    report->torn_bytes_cut = *size - good_end;
    report->torn_segment = path;
  }
  if (good_end > 0) return env_->TruncateFile(path, good_end);
  segments_.erase(segment);
  active_ = segment - 1;
  PAXOSFS_RETURN_IF_ERROR(env_->RemoveFile(path));
  return env_->SyncDir(dir_);
}

Status FileLog::CreateFirstSegment() {
  PAXOSFS_CHECK(segments_.empty());
  PAXOSFS_CHECK(pending_.empty());
  StartSegment();
  return Sync();
}

Status FileLog::ReopenLastSegment() {
  StatusOr<std::unique_ptr<WritableFile>> w =
      env_->NewAppendableFile(SegmentPath(active_));
  if (!w.ok()) return w.status();
  writer_ = std::move(*w);
  writer_segment_ = active_;
  return Status::Ok();
}

}  // namespace paxosfs::log
