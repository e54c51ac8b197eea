#include "common/checksum.h"

#include <xxhash.h>

#include "common/check.h"

namespace paxosfs {

uint64_t Checksum64(std::string_view data) {
  return XXH3_64bits(data.data(), data.size());
}

uint64_t Checksum64(std::string_view data, uint64_t seed) {
  return XXH3_64bits_withSeed(data.data(), data.size(), seed);
}

struct Hasher::State {
  XXH3_state_t* xxh = nullptr;
};

Hasher::Hasher() : state_(std::make_unique<State>()) {
  state_->xxh = XXH3_createState();
  PAXOSFS_CHECK(state_->xxh != nullptr);
  PAXOSFS_CHECK(XXH3_64bits_reset(state_->xxh) == XXH_OK);
}

Hasher::~Hasher() { XXH3_freeState(state_->xxh); }

void Hasher::Update(std::string_view data) {
  PAXOSFS_CHECK(XXH3_64bits_update(state_->xxh, data.data(), data.size()) ==
                XXH_OK);
}

void Hasher::UpdateU64(uint64_t v) {
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(v >> (8 * i));
  Update(std::string_view(bytes, sizeof(bytes)));
}

uint64_t Hasher::Digest() const { return XXH3_64bits_digest(state_->xxh); }

}  // namespace paxosfs
