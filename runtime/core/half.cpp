#include "runtime/core/half.hpp"

#include <immintrin.h>

#include <bit>
#include <cstring>

namespace lb {
namespace {

// Portable round-to-nearest-even conversion, the reference for the F16C path.
half_bits float_to_half_portable(float value) {
  const std::uint32_t f = std::bit_cast<std::uint32_t>(value);
  const std::uint32_t sign = (f >> 16) & 0x8000u;
  const std::uint32_t abs = f & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // inf or NaN; keep NaN quiet
    return static_cast<half_bits>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  }
  if (abs >= 0x477ff000u) return static_cast<half_bits>(sign | 0x7c00u);  // rounds to inf
  if (abs < 0x38800000u) {                           // result is subnormal or zero
    const std::uint32_t shift = 126u - (abs >> 23);  // right shift onto the 2^-24 grid
    if (shift > 25u) return static_cast<half_bits>(sign);
    const std::uint32_t mantissa = (abs & 0x7fffffu) | 0x800000u;
    std::uint32_t h = mantissa >> shift;
    const std::uint32_t rest = mantissa & ((1u << shift) - 1u);
    const std::uint32_t halfway = 1u << (shift - 1u);
    if (rest > halfway || (rest == halfway && (h & 1u))) ++h;
    return static_cast<half_bits>(sign | h);
  }
  std::uint32_t h = ((abs - 0x38000000u) >> 13);
  const std::uint32_t rest = abs & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
  return static_cast<half_bits>(sign | h);
}

float half_to_float_portable(half_bits bits) {
  const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000u) << 16;
  const std::uint32_t exponent = (bits >> 10) & 0x1fu;
  std::uint32_t mantissa = bits & 0x3ffu;
  std::uint32_t f;
  if (exponent == 0x1fu) {
    f = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    f = sign | ((exponent + 112u) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    f = sign;
  } else {  // subnormal: normalise
    std::uint32_t e = 113u;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --e;
    }
    f = sign | (e << 23) | ((mantissa & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(f);
}

bool cpu_has_f16c() {
  static const bool has = __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx");
  return has;
}

__attribute__((target("avx,f16c"))) void round_to_half_f16c(float* p, std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(p + i), _MM_FROUND_TO_NEAREST_INT);
    _mm256_storeu_ps(p + i, _mm256_cvtph_ps(h));
  }
  for (; i < n; ++i) p[i] = half_to_float_portable(float_to_half_portable(p[i]));
}

__attribute__((target("avx,f16c"))) void to_half_f16c(const float* in, half_bits* out,
                                                      std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
  }
  for (; i < n; ++i) out[i] = float_to_half_portable(in[i]);
}

__attribute__((target("avx,f16c"))) void from_half_f16c(const half_bits* in, float* out,
                                                        std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(h));
  }
  for (; i < n; ++i) out[i] = half_to_float_portable(in[i]);
}

}  // namespace

half_bits float_to_half(float value) { return float_to_half_portable(value); }
float half_to_float(half_bits bits) { return half_to_float_portable(bits); }

void round_to_half(std::span<float> values) {
  if (cpu_has_f16c()) return round_to_half_f16c(values.data(), values.size());
  for (float& v : values) v = half_to_float_portable(float_to_half_portable(v));
}

void to_half(std::span<const float> in, std::span<half_bits> out) {
  if (cpu_has_f16c()) return to_half_f16c(in.data(), out.data(), in.size());
  for (std::size_t i = 0; i < in.size(); ++i) out[i] = float_to_half_portable(in[i]);
}

void from_half(std::span<const half_bits> in, std::span<float> out) {
  if (cpu_has_f16c()) return from_half_f16c(in.data(), out.data(), in.size());
  for (std::size_t i = 0; i < in.size(); ++i) out[i] = half_to_float_portable(in[i]);
}

}  // namespace lb
