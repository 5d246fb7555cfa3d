// Rng is the random stream of one instance: xoshiro256** seeded through
// splitmix64 from (run seed, fleet, instance). A run is reproducible from its
// seed, and shardable: instance i draws the same numbers whichever process
// or thread runs it. 32 bytes of state, so an instance stays small.
#pragma once

#include <cmath>
#include <cstdint>

#include "common/duration.h"

namespace herd {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) { Seed(seed); }

  // The stream of instance `instance` of fleet `fleet` in a run seeded `seed`.
  static Rng For(uint64_t seed, uint32_t fleet, uint64_t instance) {
    return Rng(Mix(Mix(seed) ^ (uint64_t{fleet} << 40) ^ instance));
  }

  void Seed(uint64_t seed) {
    uint64_t x = seed;
    for (uint64_t& word : s_) word = SplitMix(&x);
  }

  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1), 53 random bits.
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

  // Uniform in [lo, hi) (lo when hi <= lo).
  Duration Between(Duration lo, Duration hi) {
    if (hi <= lo) return lo;
    return lo + Duration(static_cast<int64_t>(Uniform() * static_cast<double>((hi - lo).count())));
  }

  // Exponentially distributed with the given mean (Poisson arrivals).
  Duration Exponential(Duration mean) {
    return Duration(static_cast<int64_t>(-std::log1p(-Uniform()) * static_cast<double>(mean.count())));
  }

  bool Chance(double p) { return Uniform() < p; }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t SplitMix(uint64_t* x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  static uint64_t Mix(uint64_t x) { return SplitMix(&x); }

  uint64_t s_[4];
};

}  // namespace herd
