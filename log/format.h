// The on-disk format of FileLog segments (log/README.md describes it in
// prose; this file is its single definition). Internal to log/.
//
// A segment is a sequence of records. Every record is a 24-byte header then
// `length` payload bytes:
//   [0, 8)   header checksum: XXH3-64 of bytes [8, 24)
//   [8, 16)  payload checksum: XXH3-64 of the payload
//   [16, 20) payload length
//   [20]     type (RecordType)
//   [21, 24) zero
// All integers little-endian. The header has its own checksum so a damaged
// length is never trusted: without it, a flipped bit in a length would make
// a complete record look torn and recovery would cut synced data.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "log/log.h"

namespace paxosfs::log {

enum class RecordType : uint8_t {
  kSegmentHeader = 1,   // First record of every segment.
  kEntry = 2,           // One Entry.
  kMetadata = 3,        // The metadata blob.
  kTruncatePrefix = 4,  // A new FirstSlot().
  kChosenMark = 5,      // An earlier Entry record's value is chosen.
};

inline constexpr size_t kRecordHeaderBytes = 24;
inline constexpr uint64_t kSegmentMagic = 0x474f4c5358415050;  // "PPAXSLOG"
inline constexpr uint32_t kFormatVersion = 1;
// Payload bytes of an Entry record before its value.
inline constexpr size_t kEntryFixedBytes = 8 + 8 + 8 + 1;
// Payload bytes of a ChosenMark record.
inline constexpr size_t kChosenMarkPayloadBytes = 8 + 8 + 8 + 8;
// Largest payload any record may have: a value or metadata, plus fields.
inline constexpr uint64_t kMaxPayloadBytes = kMaxValueBytes + 64;

struct RecordHeader {
  uint64_t payload_checksum = 0;
  uint32_t length = 0;
  RecordType type = RecordType::kEntry;
};

// What the first record of a segment says.
struct SegmentHeader {
  uint64_t sequence = 0;    // Matches the file name.
  uint64_t first_slot = 1;  // FirstSlot() when the segment was started.
  std::string metadata;     // Metadata() when the segment was started.
};

// What a ChosenMark record says: the value of the Entry record at
// (record_segment, record_offset), the latest one for `slot`, is chosen.
// It stands in for a second, chosen copy of that record, so the value
// reaches the disk once.
struct ChosenMark {
  uint64_t slot = 0;
  uint64_t record_segment = 0;
  uint64_t record_offset = 0;
  uint64_t value_checksum = 0;  // Checksum64 of the value: replay restores
                                // the chosen-value check without reading it.
};

// Appends one framed record whose payload is the concatenation of `parts`.
void AppendRecord(RecordType type,
                  std::initializer_list<std::string_view> parts,
                  std::string* out);
void AppendEntryRecord(const Entry& entry, std::string* out);
void AppendSegmentHeaderRecord(const SegmentHeader& header, std::string* out);
void AppendTruncateRecord(uint64_t first_slot, std::string* out);
void AppendChosenMarkRecord(const ChosenMark& mark, std::string* out);

// Size of the Entry record for `entry`, header included.
uint64_t EntryRecordBytes(const Entry& entry);
// The payload checksum of the Entry record for `entry` with chosen = false,
// computed without building the record.
uint64_t AcceptedPayloadChecksum(const Entry& entry);

// Parses a header. nullopt if `bytes` is shorter than a header, its checksum
// fails, the padding is not zero, the type is unknown or the length exceeds
// kMaxPayloadBytes.
std::optional<RecordHeader> DecodeHeader(std::string_view bytes);
bool PayloadMatches(const RecordHeader& header, std::string_view payload);

// Payload decoders; nullopt if the payload is malformed.
std::optional<Entry> DecodeEntry(std::string_view payload);
std::optional<SegmentHeader> DecodeSegmentHeader(std::string_view payload);
std::optional<uint64_t> DecodeTruncate(std::string_view payload);
std::optional<ChosenMark> DecodeChosenMark(std::string_view payload);

// "segment-00000000000000000007.log": fixed width, so names sort by number.
std::string SegmentFileName(uint64_t sequence);
std::optional<uint64_t> ParseSegmentFileName(std::string_view name);

}  // namespace paxosfs::log
