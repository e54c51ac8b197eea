// Peer messages come off the network and values and metadata off the disk:
// each decoder must turn any bytes into a value or a Status, and what it
// accepts must re-encode to bytes it decodes back to the same value.
// CheckValue must accept exactly what DecodeValue accepts.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/check.h"
#include "replica/core/codec.h"

namespace paxosfs::replica {
namespace {

template <typename T>
void CheckRoundTrip(std::string_view bytes,
                    StatusOr<T> (*decode)(std::string_view),
                    std::string (*encode)(const T&)) {
  StatusOr<T> first = decode(bytes);
  if (!first.ok()) {
    PAXOSFS_CHECK(first.status().code() == StatusCode::kCorruption);
    return;
  }
  // Compared as bytes: the encoding is deterministic, and comparing values
  // would need an equality the types do not all have.
  std::string encoded = encode(*first);
  StatusOr<T> second = decode(encoded);
  PAXOSFS_CHECK(second.ok());
  PAXOSFS_CHECK(encode(*second) == encoded);
}

}  // namespace
}  // namespace paxosfs::replica

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace paxosfs::replica;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  CheckRoundTrip(bytes, DecodeMessage, EncodeMessage);
  CheckRoundTrip(bytes, DecodeValue, EncodeValue);
  // The check the learner makes must agree with the full decode.
  PAXOSFS_CHECK(CheckValue(bytes).ok() == DecodeValue(bytes).ok());
  CheckRoundTrip(bytes, DecodeMetadata, EncodeMetadata);
  return 0;
}
