// Loss scaling modes (Micikevicius et al. 2018, "Mixed Precision Training"):
//   disabled / "none"  scale 1; every step is applied (an fp32 run never
//                      skips; a NaN there is the trainer's business)
//   "static"           scale = init; a non-finite step is skipped
//   "dynamic"          starts at init; a non-finite step is skipped and the
//                      scale backs off (never below min), growth_interval
//                      consecutive clean steps grow it (never above max)
#include "runtime/optim/loss_scaler.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include "runtime/core/errors.hpp"

namespace lb {
namespace {

bool scaling_active(const LossScaleSpec& spec, bool enabled) {
  return enabled && spec.mode != LossScaleMode::none;
}

}  // namespace

LossScaler::LossScaler(const LossScaleSpec& spec, bool enabled)
    : spec_(spec),
      skips_(scaling_active(spec, enabled)),
      dynamic_(skips_ && spec.mode == LossScaleMode::dynamic),
      scale_(skips_ ? spec.init : 1.0) {}

bool LossScaler::update(bool gradients_finite) {
  if (!skips_) return true;
  if (!gradients_finite) {
    ++skipped_;
    if (dynamic_) {
      scale_ = std::max(spec_.min, scale_ * spec_.backoff_factor);
      clean_steps_ = 0;
    }
    return false;
  }
  // A growth_interval <= 0 never grows (clean_steps_ only counts upwards).
  if (dynamic_ && ++clean_steps_ == spec_.growth_interval) {
    scale_ = std::min(spec_.max, scale_ * spec_.growth_factor);
    clean_steps_ = 0;
  }
  return true;
}

void LossScaler::restore(const State& s) {
  if (!(std::isfinite(s.scale) && s.scale > 0) || s.clean_steps < 0 || s.skipped < 0) {
    throw std::invalid_argument("LossScaler::restore: invalid state");
  }
  if (dynamic_) scale_ = s.scale;
  clean_steps_ = dynamic_ ? s.clean_steps : 0;
  skipped_ = s.skipped;
}

bool all_finite(std::span<const float> values) {
  // Inf and NaN are exactly the floats whose exponent bits are all ones. The
  // integer test has no data-dependent branch inside a block, so it
  // vectorises; blocks give an early exit on a bad value.
  constexpr std::uint32_t kExponent = 0x7f800000u;
  constexpr std::size_t kBlock = 4096;
  const float* p = values.data();
  const std::size_t n = values.size();
  for (std::size_t begin = 0; begin < n; begin += kBlock) {
    const std::size_t end = std::min(n, begin + kBlock);
    std::uint32_t bad = 0;
    for (std::size_t i = begin; i < end; ++i) {
      bad |=
          static_cast<std::uint32_t>((std::bit_cast<std::uint32_t>(p[i]) & kExponent) == kExponent);
    }
    if (bad != 0) return false;
  }
  return true;
}

}  // namespace lb
