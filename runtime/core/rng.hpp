#pragma once
// Seeded randomness. Every random stream in largebatch derives from the spec's
// train.seed through mix(), so a run (and a resumed run) is reproducible: the
// stream for (seed, epoch, sample) is the same however the work is split.
#include <cstdint>
#include <random>

namespace lb {

// SplitMix64 finaliser: a cheap, well-mixed hash of 64 bits.
constexpr std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

constexpr std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  return splitmix64(a ^ splitmix64(b));
}
constexpr std::uint64_t mix(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  return mix(mix(a, b), c);
}

using Rng = std::mt19937_64;

}  // namespace lb
