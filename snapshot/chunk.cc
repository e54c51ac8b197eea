#include "snapshot/chunk.h"

#include <zstd.h>

#include "common/checksum.h"

namespace paxosfs::snapshot {

void EncodeChunk(std::string_view raw, int zstd_level,
                 proto::SnapshotChunk* chunk) {
  chunk->set_raw_len(static_cast<uint32_t>(raw.size()));
  chunk->set_checksum(Checksum64(raw));
  if (zstd_level > 0) {
    std::string* out = chunk->mutable_data();
    out->resize(ZSTD_compressBound(raw.size()));
    size_t n = ZSTD_compress(out->data(), out->size(), raw.data(), raw.size(),
                             zstd_level);
    if (!ZSTD_isError(n) && n <= raw.size() - raw.size() / 8) {
      out->resize(n);
      chunk->set_codec(proto::CHUNK_ZSTD);
      return;
    }
  }
  chunk->set_data(raw.data(), raw.size());
  chunk->set_codec(proto::CHUNK_RAW);
}

namespace {

// SourceOptions::chunk_bytes is at most 2 MiB.
constexpr uint32_t kChunkRawBytesMax = 2 << 20;

}  // namespace

StatusOr<std::string> DecodeChunk(const proto::SnapshotChunk& chunk) {
  std::string where = "snapshot chunk at offset " +
                      std::to_string(chunk.offset()) + " of " +
                      chunk.snapshot_id();
  std::string raw;
  if (chunk.codec() == proto::CHUNK_RAW) {
    raw = chunk.data();
  } else if (chunk.codec() == proto::CHUNK_ZSTD) {
    // Senders cut chunks of at most 2 MiB: a larger claim is damage, and
    // trusting it would let one message allocate gigabytes.
    if (chunk.raw_len() > kChunkRawBytesMax) {
      return Status::Corruption(where + " announces " +
                                std::to_string(chunk.raw_len()) +
                                " bytes, more than a chunk can hold");
    }
    raw.resize(chunk.raw_len());
    size_t n = ZSTD_decompress(raw.data(), raw.size(), chunk.data().data(),
                               chunk.data().size());
    if (ZSTD_isError(n)) {
      return Status::Corruption(where + " does not decompress (" +
                                ZSTD_getErrorName(n) + ")");
    }
    raw.resize(n);
  } else {
    return Status::Corruption(where + " uses unknown codec " +
                              std::to_string(chunk.codec()));
  }
  if (raw.size() != chunk.raw_len()) {
    return Status::Corruption(where + " holds " + std::to_string(raw.size()) +
                              " bytes, not the announced " +
                              std::to_string(chunk.raw_len()));
  }
  if (Checksum64(raw) != chunk.checksum()) {
    return Status::Corruption(where + " fails its checksum");
  }
  return raw;
}

}  // namespace paxosfs::snapshot
