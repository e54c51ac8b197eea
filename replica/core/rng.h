// A small seeded PRNG (splitmix64) so the core's random choices (election
// timeouts, catch-up peers, disk ids) are deterministic and identical on
// every platform, unlike std::uniform_int_distribution.
#pragma once

#include <cstdint>

namespace paxosfs::replica {

class Rng {
 public:
  // The seed is hashed first: splitmix64's state advances by a constant,
  // so seeds that differ by a multiple of it would give the same stream
  // shifted by a few draws. That once made two starts of one node draw the
  // same read-barrier epoch (simulation seed 18632: a stale read served
  // from a reply meant for the previous start).
  explicit Rng(uint64_t seed) : state_(Mix(seed)) {}
  uint64_t Next() { return Mix(state_ += 0x9e3779b97f4a7c15ULL); }
  // Uniform in [0, n). REQUIRES: n > 0. The modulo bias is irrelevant here.
  uint64_t Below(uint64_t n) { return Next() % n; }

 private:
  static uint64_t Mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  uint64_t state_;
};

}  // namespace paxosfs::replica
