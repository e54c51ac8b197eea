#include "fsm/commands.h"

#include <algorithm>

namespace paxosfs::fsm {

void SetWrite(uint64_t ino, uint64_t offset, std::string_view data,
              proto::Command* command) {
  proto::Write* write = command->mutable_write();
  write->set_inode(ino);
  write->set_offset(offset);
  uint64_t pos = offset;
  while (!data.empty()) {
    uint32_t in_chunk = static_cast<uint32_t>(pos % kChunkSize);
    size_t n = std::min<size_t>(data.size(), kChunkSize - in_chunk);
    proto::ChunkWrite* piece = write->add_pieces();
    piece->set_chunk_index(pos / kChunkSize);
    piece->set_offset_in_chunk(in_chunk);
    piece->set_data(data.data(), n);
    data.remove_prefix(n);
    pos += n;
  }
}

}  // namespace paxosfs::fsm
