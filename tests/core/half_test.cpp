#include "runtime/core/half.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace lb {
namespace {

bool is_half_nan(half_bits h) { return (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0; }

std::uint32_t bits_of(float f) { return std::bit_cast<std::uint32_t>(f); }

TEST(Half, KnownConversions) {
  EXPECT_EQ(float_to_half(1.0f), 0x3c00);
  EXPECT_EQ(float_to_half(-2.0f), 0xc000);
  EXPECT_EQ(float_to_half(0.0f), 0x0000);
  EXPECT_EQ(float_to_half(-0.0f), 0x8000);
  EXPECT_EQ(float_to_half(kHalfMax), 0x7bff);
  EXPECT_EQ(float_to_half(65519.99f), 0x7bff);  // just below the tie with inf
  EXPECT_EQ(float_to_half(65520.0f), 0x7c00);   // tie between 65504 and 2^16 -> even = inf
  EXPECT_EQ(float_to_half(-65520.0f), 0xfc00);
  EXPECT_EQ(float_to_half(1e9f), 0x7c00);
  EXPECT_EQ(float_to_half(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(float_to_half(kHalfMinNormal), 0x0400);
  EXPECT_EQ(float_to_half(kHalfMinSubnormal), 0x0001);                // 2^-24
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -25)), 0x0000);            // tie -> even (0)
  EXPECT_EQ(float_to_half(std::ldexp(3.0f, -25)), 0x0002);            // tie 1.5 ulp -> even (2)
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -25) * 1.0001f), 0x0001);  // above the tie
  EXPECT_EQ(float_to_half(-std::ldexp(1.0f, -26)), 0x8000);           // underflow keeps the sign
  EXPECT_EQ(float_to_half(1.0f + std::ldexp(1.0f, -11)), 0x3c00);     // tie -> even mantissa
  EXPECT_EQ(float_to_half(1.0f + std::ldexp(3.0f, -11)), 0x3c02);     // tie -> even mantissa
  EXPECT_TRUE(is_half_nan(float_to_half(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_TRUE(is_half_nan(float_to_half(-std::numeric_limits<float>::quiet_NaN())));
  // A signalling NaN whose payload lives only in the low bits must stay NaN.
  EXPECT_TRUE(is_half_nan(float_to_half(std::bit_cast<float>(0x7f800001u))));
}

TEST(Half, KnownHalfToFloat) {
  EXPECT_EQ(half_to_float(0x3c00), 1.0f);
  EXPECT_EQ(half_to_float(0x7bff), 65504.0f);
  EXPECT_EQ(half_to_float(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(half_to_float(0x03ff), std::ldexp(1023.0f, -24));  // largest subnormal
  EXPECT_EQ(bits_of(half_to_float(0x8000)), 0x80000000u);      // -0.0
  EXPECT_EQ(half_to_float(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(half_to_float(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(half_to_float(0x7e00)));
  EXPECT_TRUE(std::isnan(half_to_float(0x7c01)));
}

TEST(Half, EveryHalfRoundTrips) {
  for (std::uint32_t b = 0; b <= 0xffffu; ++b) {
    const auto h = static_cast<half_bits>(b);
    const float f = half_to_float(h);
    if (is_half_nan(h)) {
      ASSERT_TRUE(std::isnan(f)) << std::hex << b;
      ASSERT_TRUE(is_half_nan(float_to_half(f))) << std::hex << b;
    } else {
      ASSERT_EQ(float_to_half(f), h) << std::hex << b;
    }
  }
}

// Inputs that stress every branch of the conversion: arbitrary bit patterns
// (NaN, inf, huge, tiny), the half subnormal range, the overflow boundary,
// and exact ties between neighbouring halves with their float neighbours.
std::vector<float> conversion_inputs(std::mt19937& rng) {
  std::vector<float> v;
  std::uniform_int_distribution<std::uint32_t> any_bits;
  std::uniform_int_distribution<std::uint32_t> any_half(0, 0xffff);
  std::uniform_real_distribution<float> subnormal(-kHalfMinNormal * 1.5f, kHalfMinNormal * 1.5f);
  std::uniform_real_distribution<float> overflow(65000.0f, 66000.0f);
  for (int i = 0; i < 1'000'000; ++i) v.push_back(std::bit_cast<float>(any_bits(rng)));
  for (int i = 0; i < 1'000'000; ++i) v.push_back(subnormal(rng));
  for (int i = 0; i < 200'000; ++i) v.push_back(std::copysign(overflow(rng), i % 2 ? 1.f : -1.f));
  for (int i = 0; i < 600'000; ++i) {
    const auto h = static_cast<half_bits>(any_half(rng) & 0x7fff);  // magnitude; sign applied below
    if ((h & 0x7c00) == 0x7c00) continue;
    // The midpoint of two adjacent halves is exact in float (11 + 1 bits).
    const float sign = i % 2 ? 1.f : -1.f;
    const float lo = half_to_float(h), hi = half_to_float(static_cast<half_bits>(h + 1));
    const float tie = sign * static_cast<float>((static_cast<double>(lo) + hi) / 2);
    if (std::isinf(tie)) continue;
    v.push_back(tie);
    v.push_back(std::nextafter(tie, 0.0f));
    v.push_back(std::nextafter(tie, 2 * tie));
  }
  for (float f : {65504.f, 65519.99f, 65520.f, 0.f, -0.f, kHalfMinSubnormal / 2}) v.push_back(f);
  return v;
}

// Non-NaN results must match bit for bit (including the sign of zero); NaN
// payloads may differ between F16C and the portable path.
void expect_same_floats(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const bool same =
        std::isnan(want[i]) ? std::isnan(got[i]) : bits_of(got[i]) == bits_of(want[i]);
    if (!same && ++mismatches <= 5) {
      ADD_FAILURE() << "input #" << i << ": got 0x" << std::hex << bits_of(got[i]) << ", want 0x"
                    << bits_of(want[i]);
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

TEST(Half, RoundToHalfMatchesPortableConversion) {
  if (!__builtin_cpu_supports("f16c") || !__builtin_cpu_supports("avx")) {
    GTEST_SKIP() << "this CPU has no F16C, so round_to_half is the portable path itself";
  }
  std::mt19937 rng(20180730);  // fixed seed: failures reproduce
  const std::vector<float> inputs = conversion_inputs(rng);
  std::vector<float> rounded = inputs;
  round_to_half(rounded);
  std::vector<float> want(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) want[i] = half_to_float(float_to_half(inputs[i]));
  expect_same_floats(rounded, want);
}

TEST(Half, BulkConversionsMatchScalarOnes) {
  std::mt19937 rng(7);
  const std::vector<float> inputs = conversion_inputs(rng);
  std::vector<half_bits> halves(inputs.size());
  to_half(inputs, halves);
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const half_bits want = float_to_half(inputs[i]);
    const bool same = is_half_nan(want) ? is_half_nan(halves[i]) : halves[i] == want;
    if (!same && ++mismatches <= 5) ADD_FAILURE() << "input #" << i << std::hex << " " << want;
  }
  EXPECT_EQ(mismatches, 0u);
  std::vector<float> back(inputs.size());
  from_half(halves, back);
  std::vector<float> want(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) want[i] = half_to_float(halves[i]);
  expect_same_floats(back, want);
}

}  // namespace
}  // namespace lb
