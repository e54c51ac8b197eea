#include "log/format.h"

#include <charconv>
#include <cstdio>

#include "common/checksum.h"

namespace paxosfs::log {
namespace {

void PutFixed64(char* dst, uint64_t v) {
  for (int i = 0; i < 8; ++i) dst[i] = static_cast<char>(v >> (8 * i));
}
void PutFixed32(char* dst, uint32_t v) {
  for (int i = 0; i < 4; ++i) dst[i] = static_cast<char>(v >> (8 * i));
}
void AppendFixed64(std::string* out, uint64_t v) {
  char buf[8];
  PutFixed64(buf, v);
  out->append(buf, sizeof(buf));
}
void AppendFixed32(std::string* out, uint32_t v) {
  char buf[4];
  PutFixed32(buf, v);
  out->append(buf, sizeof(buf));
}
uint64_t GetFixed64(const char* src) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v |= static_cast<uint64_t>(static_cast<unsigned char>(src[i])) << (8 * i);
  }
  return v;
}
uint32_t GetFixed32(const char* src) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    v |= static_cast<uint32_t>(static_cast<unsigned char>(src[i])) << (8 * i);
  }
  return v;
}

bool KnownType(uint8_t type) {
  return type >= static_cast<uint8_t>(RecordType::kSegmentHeader) &&
         type <= static_cast<uint8_t>(RecordType::kChosenMark);
}

// The fields of an Entry record's payload before its value.
std::string EntryFixed(const Entry& entry, bool chosen) {
  std::string fixed;
  AppendFixed64(&fixed, entry.slot);
  AppendFixed64(&fixed, entry.ballot_round);
  AppendFixed64(&fixed, entry.ballot_node);
  fixed.push_back(chosen ? 1 : 0);
  return fixed;
}

constexpr size_t kSegmentHeaderFixedBytes = 8 + 4 + 8 + 8;
constexpr std::string_view kSegmentPrefix = "segment-";
constexpr std::string_view kSegmentSuffix = ".log";
constexpr size_t kSegmentDigits = 20;

}  // namespace

void AppendRecord(RecordType type,
                  std::initializer_list<std::string_view> parts,
                  std::string* out) {
  size_t start = out->size();
  uint64_t length = 0;
  for (std::string_view part : parts) length += part.size();
  PAXOSFS_CHECK(length <= kMaxPayloadBytes);
  out->reserve(start + kRecordHeaderBytes + length);
  out->resize(start + kRecordHeaderBytes);
  for (std::string_view part : parts) out->append(part);
  char* header = out->data() + start;
  std::string_view payload(header + kRecordHeaderBytes, length);
  PutFixed64(header + 8, Checksum64(payload));
  PutFixed32(header + 16, static_cast<uint32_t>(length));
  header[20] = static_cast<char>(type);
  header[21] = header[22] = header[23] = 0;
  PutFixed64(header, Checksum64(std::string_view(header + 8, 16)));
}

void AppendEntryRecord(const Entry& entry, std::string* out) {
  AppendRecord(RecordType::kEntry,
               {EntryFixed(entry, entry.chosen), entry.value}, out);
}

void AppendSegmentHeaderRecord(const SegmentHeader& header, std::string* out) {
  std::string fixed;
  AppendFixed64(&fixed, kSegmentMagic);
  AppendFixed32(&fixed, kFormatVersion);
  AppendFixed64(&fixed, header.sequence);
  AppendFixed64(&fixed, header.first_slot);
  AppendRecord(RecordType::kSegmentHeader, {fixed, header.metadata}, out);
}

void AppendTruncateRecord(uint64_t first_slot, std::string* out) {
  std::string fixed;
  AppendFixed64(&fixed, first_slot);
  AppendRecord(RecordType::kTruncatePrefix, {fixed}, out);
}

void AppendChosenMarkRecord(const ChosenMark& mark, std::string* out) {
  std::string fixed;
  AppendFixed64(&fixed, mark.slot);
  AppendFixed64(&fixed, mark.record_segment);
  AppendFixed64(&fixed, mark.record_offset);
  AppendFixed64(&fixed, mark.value_checksum);
  AppendRecord(RecordType::kChosenMark, {fixed}, out);
}

uint64_t EntryRecordBytes(const Entry& entry) {
  return kRecordHeaderBytes + kEntryFixedBytes + entry.value.size();
}

uint64_t AcceptedPayloadChecksum(const Entry& entry) {
  Hasher hasher;
  hasher.Update(EntryFixed(entry, /*chosen=*/false));
  hasher.Update(entry.value);
  return hasher.Digest();
}

std::optional<RecordHeader> DecodeHeader(std::string_view bytes) {
  if (bytes.size() < kRecordHeaderBytes) return std::nullopt;
  const char* p = bytes.data();
  if (GetFixed64(p) != Checksum64(bytes.substr(8, 16))) return std::nullopt;
  if (p[21] != 0 || p[22] != 0 || p[23] != 0) return std::nullopt;
  uint8_t type = static_cast<uint8_t>(p[20]);
  uint32_t length = GetFixed32(p + 16);
  if (!KnownType(type) || length > kMaxPayloadBytes) return std::nullopt;
  return RecordHeader{GetFixed64(p + 8), length, static_cast<RecordType>(type)};
}

bool PayloadMatches(const RecordHeader& header, std::string_view payload) {
  return payload.size() == header.length &&
         Checksum64(payload) == header.payload_checksum;
}

std::optional<Entry> DecodeEntry(std::string_view payload) {
  if (payload.size() < kEntryFixedBytes) return std::nullopt;
  const char* p = payload.data();
  uint8_t chosen = static_cast<uint8_t>(p[24]);
  if (chosen > 1) return std::nullopt;
  Entry e;
  e.slot = GetFixed64(p);
  e.ballot_round = GetFixed64(p + 8);
  e.ballot_node = GetFixed64(p + 16);
  e.chosen = chosen == 1;
  e.value.assign(payload.substr(kEntryFixedBytes));
  return e;
}

std::optional<SegmentHeader> DecodeSegmentHeader(std::string_view payload) {
  if (payload.size() < kSegmentHeaderFixedBytes) return std::nullopt;
  const char* p = payload.data();
  if (GetFixed64(p) != kSegmentMagic) return std::nullopt;
  if (GetFixed32(p + 8) != kFormatVersion) return std::nullopt;
  SegmentHeader h;
  h.sequence = GetFixed64(p + 12);
  h.first_slot = GetFixed64(p + 20);
  h.metadata.assign(payload.substr(kSegmentHeaderFixedBytes));
  return h;
}

std::optional<uint64_t> DecodeTruncate(std::string_view payload) {
  if (payload.size() != 8) return std::nullopt;
  return GetFixed64(payload.data());
}

std::optional<ChosenMark> DecodeChosenMark(std::string_view payload) {
  if (payload.size() != kChosenMarkPayloadBytes) return std::nullopt;
  const char* p = payload.data();
  return ChosenMark{.slot = GetFixed64(p),
                    .record_segment = GetFixed64(p + 8),
                    .record_offset = GetFixed64(p + 16),
                    .value_checksum = GetFixed64(p + 24)};
}

std::string SegmentFileName(uint64_t sequence) {
  char digits[kSegmentDigits + 1];
  std::snprintf(digits, sizeof(digits), "%020llu",
                static_cast<unsigned long long>(sequence));
  return std::string(kSegmentPrefix) + digits + std::string(kSegmentSuffix);
}

std::optional<uint64_t> ParseSegmentFileName(std::string_view name) {
  if (name.size() !=
      kSegmentPrefix.size() + kSegmentDigits + kSegmentSuffix.size()) {
    return std::nullopt;
  }
  if (!name.starts_with(kSegmentPrefix) || !name.ends_with(kSegmentSuffix)) {
    return std::nullopt;
  }
  std::string_view digits = name.substr(kSegmentPrefix.size(), kSegmentDigits);
  uint64_t sequence = 0;
  auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), sequence);
  if (ec != std::errc() || end != digits.data() + digits.size()) {
    return std::nullopt;
  }
  return sequence;
}

}  // namespace paxosfs::log
