#pragma once
// Distributions written out by hand: the standard library's distributions
// (and std::shuffle) may differ between implementations, and the data a seed
// produces must not change with the compiler.
#include <cmath>
#include <cstdint>
#include <numbers>
#include <span>
#include <utility>

#include "runtime/core/rng.hpp"

namespace lb {

// SplitMix64 as a generator: seeding is free, whereas mt19937_64 spends a few
// microseconds filling its 312-word state, too slow to seed once per image.
class SplitMix64 {
 public:
  using result_type = std::uint64_t;
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return ~result_type(0); }
  result_type operator()() {
    const std::uint64_t x = state_;
    state_ += 0x9e3779b97f4a7c15ull;  // splitmix64() adds the same step first
    return splitmix64(x);
  }

 private:
  std::uint64_t state_;
};

// Uniform in [0, n), n > 0, without modulo bias: draws below 2^64 mod n are
// rejected so every residue is equally likely.
template <typename Generator>
std::uint64_t uniform_index(Generator& rng, std::uint64_t n) {
  const std::uint64_t threshold = (0 - n) % n;  // == 2^64 mod n
  std::uint64_t x = rng();
  while (x < threshold) x = rng();
  return x % n;
}

// Uniform in (0, 1]: 53 random bits, never 0 so log() below is finite.
template <typename Generator>
double uniform_open0(Generator& rng) {
  return (double(rng() >> 11) + 1.0) * 0x1.0p-53;
}

// Fills `out` with standard normal values (Box-Muller, two per pair of draws).
template <typename Generator>
void fill_standard_normal(Generator& rng, std::span<float> out) {
  for (std::size_t i = 0; i < out.size(); i += 2) {
    const double radius = std::sqrt(-2.0 * std::log(uniform_open0(rng)));
    const double angle = 2.0 * std::numbers::pi * uniform_open0(rng);
    out[i] = float(radius * std::cos(angle));
    if (i + 1 < out.size()) out[i + 1] = float(radius * std::sin(angle));
  }
}

// Fisher-Yates shuffle driven by uniform_index.
template <typename T, typename Generator>
void shuffle_in_place(Generator& rng, std::span<T> values) {
  for (std::size_t i = values.size(); i > 1; --i) {
    const std::size_t j = uniform_index(rng, i);
    std::swap(values[i - 1], values[j]);
  }
}

}  // namespace lb
