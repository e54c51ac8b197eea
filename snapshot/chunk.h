// Internal to snapshot/: encoding and checking one stream chunk, and the
// token bucket that paces a stream.
//
// Thread safety: the functions are reentrant; a TokenBucket belongs to one
// stream's worker thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "proto/snapshot.pb.h"

namespace paxosfs::snapshot {

// Sets `chunk`'s data, codec, raw_len and checksum from `raw`: zstd at
// `zstd_level` when that saves at least 1/8 of the bytes, raw otherwise
// (already-compressed file data would only cost CPU on both sides).
// zstd_level 0: always raw.
void EncodeChunk(std::string_view raw, int zstd_level,
                 proto::SnapshotChunk* chunk);

// The raw bytes of `chunk`, or kCorruption if they do not decode to
// raw_len bytes with the announced checksum.
StatusOr<std::string> DecodeChunk(const proto::SnapshotChunk& chunk);

// Paces a byte stream at `rate_bytes_per_s` with bursts of up to
// `burst_bytes`. Take() may run into debt: it returns how long to wait
// before sending, so one chunk larger than the burst still goes out.
class TokenBucket {
 public:
  // rate 0: unlimited.
  TokenBucket(uint64_t rate_bytes_per_s, uint64_t burst_bytes, int64_t now_ns)
      : rate_(rate_bytes_per_s),
        burst_(static_cast<double>(burst_bytes)),
        tokens_(static_cast<double>(burst_bytes)),
        last_ns_(now_ns) {}

  // Takes `bytes` tokens; returns the nanoseconds to wait before sending
  // them (0: now).
  int64_t Take(uint64_t bytes, int64_t now_ns) {
    if (rate_ == 0) return 0;
    if (now_ns > last_ns_) {
      tokens_ += static_cast<double>(now_ns - last_ns_) * 1e-9 *
                 static_cast<double>(rate_);
      if (tokens_ > burst_) tokens_ = burst_;
      last_ns_ = now_ns;
    }
    tokens_ -= static_cast<double>(bytes);
    if (tokens_ >= 0) return 0;
    return static_cast<int64_t>(-tokens_ * 1e9 / static_cast<double>(rate_));
  }

 private:
  uint64_t rate_;
  double burst_;
  double tokens_;
  int64_t last_ns_;
};

}  // namespace paxosfs::snapshot
