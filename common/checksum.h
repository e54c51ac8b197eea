// Checksums for everything paxosfs writes to disk or sends in bulk.
//
// XXH3-64 (libxxhash): fast enough to checksum every log record and snapshot
// chunk without showing up in profiles, and strong enough to detect torn
// writes and flipped bits. Stable across versions and machines: the value is
// part of the on-disk formats.
//
// Thread safety: Checksum64 is reentrant; a Hasher is owned by one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

namespace paxosfs {

uint64_t Checksum64(std::string_view data);
// Bound to a place as well: the same bytes checksummed for another seed (a
// page number) do not match, so data written to the wrong place is caught.
uint64_t Checksum64(std::string_view data, uint64_t seed);

// Incremental form: Update() over pieces gives the same value as Checksum64
// over their concatenation.
class Hasher {
 public:
  Hasher();
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  void Update(std::string_view data);
  void UpdateU64(uint64_t v);  // Little-endian, so digests match across hosts.
  uint64_t Digest() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace paxosfs
