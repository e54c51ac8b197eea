// A small seeded PRNG (splitmix64) so the core's random choices (election
// timeouts, catch-up peers, disk ids) are deterministic and identical on
// every platform, unlike std::uniform_int_distribution.
#pragma once

#include <cstdint>

namespace paxosfs::replica {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n). REQUIRES: n > 0. The modulo bias is irrelevant here.
  uint64_t Below(uint64_t n) { return Next() % n; }

 private:
  uint64_t state_;
};

}  // namespace paxosfs::replica
