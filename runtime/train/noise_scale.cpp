#include "runtime/train/noise_scale.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace lb {

NoiseScaleEstimator::NoiseScaleEstimator(double decay) : decay_(decay) {
  if (!(decay >= 0 && decay < 1))
    throw std::invalid_argument("noise scale: decay must be in [0, 1)");
}

NoiseScaleEstimate NoiseScaleEstimator::add(const GradientNormSample& s) {
  if (!(s.b_small > 0 && s.b_big > s.b_small) || !std::isfinite(s.g2_small) ||
      !std::isfinite(s.g2_big)) {
    throw std::invalid_argument("noise scale: expected 0 < b_small < b_big and finite norms");
  }
  const double g2 = (s.b_big * s.g2_big - s.b_small * s.g2_small) / (s.b_big - s.b_small);
  const double trace = (s.g2_small - s.g2_big) / (1.0 / s.b_small - 1.0 / s.b_big);
  state_.g2_sum = decay_ * state_.g2_sum + (1 - decay_) * g2;
  state_.trace_sum = decay_ * state_.trace_sum + (1 - decay_) * trace;
  state_.weight = decay_ * state_.weight + (1 - decay_);
  ++state_.count;
  return *current();
}

std::optional<NoiseScaleEstimate> NoiseScaleEstimator::current() const {
  if (state_.count == 0) return std::nullopt;
  NoiseScaleEstimate e;
  e.g2 = state_.g2_sum / state_.weight;
  e.trace_sigma = state_.trace_sum / state_.weight;
  e.b_simple = e.g2 > 0 ? e.trace_sigma / e.g2 : std::numeric_limits<double>::infinity();
  return e;
}

}  // namespace lb
