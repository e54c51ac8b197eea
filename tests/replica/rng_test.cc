#include "replica/core/rng.h"

#include <gtest/gtest.h>

#include <set>

namespace paxosfs::replica {
namespace {

// The core seeds its generator with seed * 0x9e3779b97f4a7c15 + node id,
// and a restarted node gets the next seed. Before seeds were hashed, the
// stream of seed s + 1 was the stream of seed s shifted by one draw, so a
// node restarted after a wipe (which draws a disk id first) drew the same
// read-barrier epoch as its previous start: simulation seed 18632 served a
// stale read from a reply meant for that earlier start.
TEST(Rng, AdjacentCoreSeedsShareNoDraws) {
  constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;
  for (uint64_t seed : {1ull, 18632ull * 1000003 + 101, 1ull << 40}) {
    std::set<uint64_t> first;
    Rng a(seed * kGolden + 1);
    for (int i = 0; i < 64; ++i) first.insert(a.Next());
    Rng b((seed + 1) * kGolden + 1);
    for (int i = 0; i < 64; ++i) {
      EXPECT_EQ(first.count(b.Next()), 0u) << "seed " << seed << " draw " << i;
    }
  }
}

TEST(Rng, SameSeedSameStream) {
  Rng a(42), b(42);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(a.Next(), b.Next());
}

}  // namespace
}  // namespace paxosfs::replica
