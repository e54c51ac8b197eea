// A joining node decodes every chunk a peer streams to it. DecodeChunk must
// answer any chunk with its raw bytes or Corruption (a lying raw_len must
// not buy a large allocation), and bytes it returns must encode to a chunk
// that decodes back to them.
#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/check.h"
#include "proto/snapshot.pb.h"
#include "snapshot/chunk.h"

// Protobuf logs every string field that is not UTF-8; mutated inputs are
// full of them, and the noise would bury a real report.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace paxosfs;
  proto::SnapshotChunk chunk;
  if (!chunk.ParseFromArray(data, static_cast<int>(size))) return 0;
  StatusOr<std::string> raw = snapshot::DecodeChunk(chunk);
  if (!raw.ok()) {
    PAXOSFS_CHECK(raw.status().code() == StatusCode::kCorruption);
    return 0;
  }
  PAXOSFS_CHECK(raw->size() == chunk.raw_len());
  for (int level : {0, 1}) {
    proto::SnapshotChunk again;
    snapshot::EncodeChunk(*raw, level, &again);
    StatusOr<std::string> back = snapshot::DecodeChunk(again);
    PAXOSFS_CHECK(back.ok());
    PAXOSFS_CHECK(*back == *raw);
  }
  return 0;
}
