#include <algorithm>

#include "common/checksum.h"
#include "log/file_log_impl.h"

namespace paxosfs::log {
namespace {

// Small records are coalesced into one buffer, so a burst of 4 KiB appends
// becomes a few large writes; large ones keep their own buffer and are moved,
// never copied, on their way to the file.
constexpr size_t kCoalesceBytes = 64 << 10;

}  // namespace

FileLog::FileLog(Env* env, std::string dir, FileLogOptions options)
    : env_(env), dir_(std::move(dir)), options_(options) {}

// Buffered records are not written: only Sync() promises durability.
FileLog::~FileLog() = default;

std::string FileLog::SegmentPath(uint64_t segment) const {
  return dir_ + "/" + SegmentFileName(segment);
}

FileLog::Segment& FileLog::SegmentAt(uint64_t segment) {
  auto it = segments_.find(segment);
  PAXOSFS_CHECK(it != segments_.end());
  return it->second;
}

FileLog::Location FileLog::Place(std::string record) {
  Segment* seg = &SegmentAt(active_);
  if (seg->records > 0 &&
      seg->size + record.size() > options_.segment_bytes_max) {
    StartSegment();
    seg = &SegmentAt(active_);
  }
  Location loc{
      .segment = active_, .offset = seg->size, .length = record.size()};
  if (seg->size > 0) ++seg->records;
  seg->size += record.size();
  ++placed_records_;
  pending_bytes_ += record.size();
  if (!pending_.empty() && pending_.back().segment == active_ &&
      pending_.back().bytes.size() < kCoalesceBytes &&
      record.size() < kCoalesceBytes) {
    pending_.back().bytes += record;
  } else {
    pending_.push_back({active_, loc.offset, std::move(record)});
  }
  return loc;
}

// Every segment starts with the state a reader needs if the older segments
// are gone: the truncation point and the latest metadata. That is what lets
// TruncatePrefix delete old segments without losing either.
void FileLog::StartSegment() {
  ++active_;
  segments_[active_] = Segment{};
  std::string header;
  AppendSegmentHeaderRecord({active_, first_slot_, metadata_}, &header);
  Place(std::move(header));
}

void FileLog::IndexRecord(uint64_t slot, const Location& loc) {
  auto [it, inserted] = index_.try_emplace(slot, loc);
  if (!inserted) {
    --SegmentAt(it->second.segment).live;
    it->second = loc;
  }
  ++SegmentAt(loc.segment).live;
  unresolved_marks_.erase(slot);
}

void FileLog::DropBelow(uint64_t first_slot) {
  if (first_slot <= first_slot_) return;
  first_slot_ = first_slot;
  auto end = index_.lower_bound(first_slot);
  for (auto it = index_.begin(); it != end; ++it) {
    --SegmentAt(it->second.segment).live;
  }
  index_.erase(index_.begin(), end);
  unresolved_marks_.erase(unresolved_marks_.begin(),
                          unresolved_marks_.lower_bound(first_slot));
}

// A chosen value never changes: an always-on check, because a log that
// accepted such a write would let two replicas apply different commands.
void FileLog::CheckChosenUnchanged(const Entry& entry,
                                   uint64_t value_checksum) const {
  auto it = index_.find(entry.slot);
  if (it == index_.end() || !it->second.chosen) return;
  PAXOSFS_CHECK_MSG(entry.chosen, "a chosen slot rewritten as not chosen");
  PAXOSFS_CHECK_MSG(value_checksum == it->second.value_checksum,
                    "a chosen slot rewritten with another value");
}

Status FileLog::Append(std::span<const Entry> entries) {
  for (const Entry& e : entries) {
    if (e.value.size() > kMaxValueBytes) {
      return Status::InvalidArgument(
          "log entry for slot " + std::to_string(e.slot) + " has " +
          std::to_string(e.value.size()) + " bytes, more than kMaxValueBytes");
    }
  }
  // The latest record of each slot marked chosen here: if it holds the same
  // ballot and value, a mark can stand in for a second copy of the value.
  std::map<uint64_t, Location> latest;
  if (std::any_of(entries.begin(), entries.end(),
                  [](const Entry& e) { return e.chosen; })) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!poison_.ok()) return poison_;
    for (const Entry& e : entries) {
      if (!e.chosen) continue;
      auto it = index_.find(e.slot);
      latest[e.slot] = it == index_.end() ? Location{} : it->second;
    }
  }
  // Encoding and checksumming (the costly part for MiB values) happen
  // without the lock.
  std::vector<Staged> staged = Stage(entries, &latest);
  std::optional<size_t> stale;
  bool buffer_full = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!poison_.ok()) return poison_;
    stale = PlaceStaged(entries, staged);
    buffer_full = pending_bytes_ > options_.buffered_bytes_max;
  }
  // Another thread appended for a slot being marked between the two lock
  // holds, so the mark may no longer follow the record it was checked
  // against: stage the rest again.
  if (stale) return Append(entries.subspan(*stale));
  return buffer_full ? Sync() : Status::Ok();
}

std::vector<FileLog::Staged> FileLog::Stage(
    std::span<const Entry> entries, std::map<uint64_t, Location>* latest) {
  std::vector<Staged> staged(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    Staged& s = staged[i];
    auto it = latest->find(e.slot);
    if (e.chosen) {
      s.value_checksum = Checksum64(e.value);
      // Comparing lengths first skips the hash for most other values.
      if (it->second.length == EntryRecordBytes(e)) {
        s.accepted_checksum = AcceptedPayloadChecksum(e);
        s.mark = s.accepted_checksum == it->second.record_checksum;
      }
    }
    if (s.mark) continue;
    AppendEntryRecord(e, &s.record);
    s.record_checksum = DecodeHeader(s.record)->payload_checksum;
    // A later entry of this batch may mark this record chosen.
    if (it != latest->end()) {
      it->second = {.length = s.record.size(),
                    .record_checksum = s.record_checksum};
    }
  }
  return staged;
}

// Buffers the staged entries in order. Returns the position of the first
// mark that no longer follows the slot's latest record (nothing from there
// on is buffered). REQUIRES: mu_ held.
std::optional<size_t> FileLog::PlaceStaged(std::span<const Entry> entries,
                                           std::vector<Staged>& staged) {
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    Staged& s = staged[i];
    PAXOSFS_CHECK_MSG(e.slot >= first_slot_, "append below FirstSlot()");
    CheckChosenUnchanged(e, s.value_checksum);
    if (s.mark) {
      auto it = index_.find(e.slot);
      if (it == index_.end() ||
          it->second.record_checksum != s.accepted_checksum) {
        return i;
      }
      std::string mark;
      AppendChosenMarkRecord({.slot = e.slot,
                              .record_segment = it->second.segment,
                              .record_offset = it->second.offset,
                              .value_checksum = s.value_checksum},
                             &mark);
      Place(std::move(mark));
      it->second.chosen = true;
      it->second.value_checksum = s.value_checksum;
      continue;
    }
    Location loc = Place(std::move(s.record));
    loc.record_checksum = s.record_checksum;
    loc.chosen = e.chosen;
    loc.value_checksum = s.value_checksum;
    IndexRecord(e.slot, loc);
  }
  return std::nullopt;
}

Status FileLog::SetMetadata(std::string_view blob) {
  PAXOSFS_CHECK(blob.size() <= kMaxValueBytes);
  std::string record;
  AppendRecord(RecordType::kMetadata, {blob}, &record);
  std::lock_guard<std::mutex> lock(mu_);
  if (!poison_.ok()) return poison_;
  Place(std::move(record));
  metadata_.assign(blob);
  return Status::Ok();
}

// Copies a record that is still buffered. REQUIRES: mu_ held.
bool FileLog::CopyBuffered(const Location& loc, std::string* out) const {
  for (const std::vector<Piece>* pieces : {&pending_, &flushing_}) {
    for (const Piece& p : *pieces) {
      if (p.segment == loc.segment && p.offset <= loc.offset &&
          loc.offset + loc.length <= p.offset + p.bytes.size()) {
        out->assign(p.bytes, loc.offset - p.offset, loc.length);
        return true;
      }
    }
  }
  return false;
}

StatusOr<Entry> FileLog::Get(uint64_t slot) const {
  Location loc;
  std::shared_ptr<RandomAccessFile> reader;
  std::string record;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!poison_.ok()) return poison_;
    auto it = index_.find(slot);
    if (it == index_.end()) {
      return Status::NotFound("no log record for slot " + std::to_string(slot));
    }
    loc = it->second;
    const Segment& seg = segments_.find(loc.segment)->second;
    if (loc.offset + loc.length <= seg.written) {
      reader = seg.reader;
    } else {
      PAXOSFS_CHECK(CopyBuffered(loc, &record));
    }
  }
  // The file read happens without the lock; the reader stays open even if
  // TruncatePrefix removes the segment meanwhile.
  if (reader != nullptr) {
    PAXOSFS_RETURN_IF_ERROR(reader->Read(loc.offset, loc.length, &record));
  }
  std::string_view bytes = record;
  std::optional<RecordHeader> header = DecodeHeader(bytes);
  if (!header || header->type != RecordType::kEntry ||
      !PayloadMatches(*header, bytes.substr(kRecordHeaderBytes))) {
    return Corrupt(loc.segment, loc.offset, "bad checksum on read");
  }
  std::optional<Entry> entry = DecodeEntry(bytes.substr(kRecordHeaderBytes));
  if (!entry || entry->slot != slot) {
    return Corrupt(loc.segment, loc.offset, "record is not for its slot");
  }
  // The record may say not chosen while a chosen mark after it says chosen.
  entry->chosen = loc.chosen;
  return std::move(*entry);
}

uint64_t FileLog::FirstSlot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return first_slot_;
}

uint64_t FileLog::LastSlot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return index_.empty() ? first_slot_ - 1 : index_.rbegin()->first;
}

std::string FileLog::Metadata() const {
  std::lock_guard<std::mutex> lock(mu_);
  return metadata_;
}

// The oldest segments that no index entry points into. Decided under the
// same lock that placed the truncate record: every record that superseded
// theirs was placed before it, so the Sync that follows makes the newer
// copies durable before the old ones are deleted. REQUIRES: mu_ held.
std::vector<uint64_t> FileLog::DeadOldSegments() const {
  std::vector<uint64_t> dead;
  for (const auto& [sequence, seg] : segments_) {
    if (sequence == active_ || seg.live > 0) break;
    dead.push_back(sequence);
  }
  return dead;
}

Status FileLog::TruncatePrefix(uint64_t first_slot) {
  std::lock_guard<std::mutex> truncate_lock(truncate_mu_);
  std::vector<uint64_t> dead;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (!poison_.ok()) return poison_;
    if (first_slot <= first_slot_) {
      lock.unlock();
      return Sync();  // Nothing to truncate, but the contract says durable.
    }
    std::string record;
    AppendTruncateRecord(first_slot, &record);
    Place(std::move(record));
    DropBelow(first_slot);
    dead = DeadOldSegments();
  }
  PAXOSFS_RETURN_IF_ERROR(Sync());
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (uint64_t sequence : dead) segments_.erase(sequence);
  }
  return RemoveSegments(dead);
}

}  // namespace paxosfs::log
