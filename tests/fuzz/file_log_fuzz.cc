// A log directory holding one segment file made of the input. Open must
// answer any bytes with a log or a Status, never crash or hang; a log it
// opened must serve what it indexed, take an append, and reopen to the same
// records.
//
// Input: the first byte picks the shape. Even: the rest is the segment file
// as is (damaged headers, torn tails, zero tails). Odd: the rest is a list of
// records `type:u8 length:u8 payload`, framed here with valid checksums so
// the fuzzer reaches the payload decoders and the replay rules behind them;
// bytes left over after the last whole record are appended raw.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/check.h"
#include "log/fault_injection_env.h"
#include "log/file_log.h"
#include "log/format.h"

namespace paxosfs::log {
namespace {

constexpr char kDir[] = "/fuzz/log";
// Gets probe at most this many slots from FirstSlot(), plus LastSlot().
constexpr uint64_t kProbeSlotsMax = 64;

std::string SegmentBytes(std::string_view in) {
  if (in.empty()) return {};
  if ((in[0] & 1) == 0) return std::string(in.substr(1));
  std::string out;
  size_t pos = 1;
  while (pos + 2 <= in.size()) {
    size_t length = static_cast<uint8_t>(in[pos + 1]);
    if (pos + 2 + length > in.size()) break;
    AppendRecord(static_cast<RecordType>(in[pos]), {in.substr(pos + 2, length)},
                 &out);
    pos += 2 + length;
  }
  out.append(in.substr(pos));
  return out;
}

// The records a log serves for the probed slots.
std::map<uint64_t, Entry> Probe(const Log& log) {
  std::map<uint64_t, Entry> found;
  uint64_t first = log.FirstSlot();
  uint64_t last = log.LastSlot();
  uint64_t end = std::min(last, first + kProbeSlotsMax);
  for (uint64_t slot = first; slot <= end; ++slot) {
    StatusOr<Entry> e = log.Get(slot);
    PAXOSFS_CHECK(e.ok() || e.status().code() == StatusCode::kNotFound);
    if (e.ok()) found[slot] = *e;
    if (slot == std::numeric_limits<uint64_t>::max()) break;
  }
  StatusOr<Entry> e = log.Get(last);
  PAXOSFS_CHECK(e.ok() || e.status().code() == StatusCode::kNotFound);
  if (e.ok()) found[last] = *e;
  return found;
}

void Run(std::string_view input) {
  FaultInjectionEnv env;
  PAXOSFS_CHECK(env.CreateDir(kDir).ok());
  auto file = env.NewWritableFile(std::string(kDir) + "/" + SegmentFileName(1));
  PAXOSFS_CHECK(file.ok());
  PAXOSFS_CHECK((*file)->Append(SegmentBytes(input)).ok());
  PAXOSFS_CHECK((*file)->Sync().ok());
  PAXOSFS_CHECK(env.SyncDir(kDir).ok());

  StatusOr<std::unique_ptr<Log>> log = OpenFileLog(&env, kDir);
  if (!log.ok()) {
    PAXOSFS_CHECK(log.status().code() == StatusCode::kCorruption);
    return;
  }
  std::map<uint64_t, Entry> before = Probe(**log);
  std::string metadata = (*log)->Metadata();
  uint64_t last = (*log)->LastSlot();
  if (last != std::numeric_limits<uint64_t>::max()) {
    Entry added{last + 1, 1, 1, false, "fuzz"};
    PAXOSFS_CHECK((*log)->Append({&added, 1}).ok());
    PAXOSFS_CHECK((*log)->Sync().ok());
    before[added.slot] = added;
  }
  log->reset();

  StatusOr<std::unique_ptr<Log>> again = OpenFileLog(&env, kDir);
  PAXOSFS_CHECK_MSG(again.ok(), again.status().ToString().c_str());
  PAXOSFS_CHECK((*again)->Metadata() == metadata);
  for (const auto& [slot, entry] : before) {
    StatusOr<Entry> e = (*again)->Get(slot);
    PAXOSFS_CHECK(e.ok());
    PAXOSFS_CHECK(*e == entry);
  }
}

}  // namespace
}  // namespace paxosfs::log

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  paxosfs::log::Run(
      std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
