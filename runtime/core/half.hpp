#pragma once
// IEEE binary16 conversion. The fp16 training mode stores every weight,
// activation and gradient as a half value; on the CPU those values live in
// fp32 buffers but are rounded through binary16 (round-to-nearest-even, with
// subnormals, overflow to inf) so underflow and overflow happen exactly where
// they would on a GPU that stores half.
#include <cstdint>
#include <span>

namespace lb {

using half_bits = std::uint16_t;

half_bits float_to_half(float value);  // round-to-nearest-even
float half_to_float(half_bits bits);

// Rounds every value to the nearest binary16 value, in place (F16C when the
// CPU has it, a portable path otherwise; both give identical results).
void round_to_half(std::span<float> values);

void to_half(std::span<const float> in, std::span<half_bits> out);
void from_half(std::span<const half_bits> in, std::span<float> out);

inline constexpr float kHalfMax = 65504.0f;
inline constexpr float kHalfMinNormal = 6.103515625e-05f;            // 2^-14
inline constexpr float kHalfMinSubnormal = 5.9604644775390625e-08f;  // 2^-24

}  // namespace lb
