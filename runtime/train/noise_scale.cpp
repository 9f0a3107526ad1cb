#include "runtime/train/noise_scale.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace lb {

NoiseScaleEstimator::NoiseScaleEstimator(double decay) : decay_(decay) {
  if (!(decay >= 0 && decay < 1)) throw std::invalid_argument("noise scale: decay must be in [0, 1)");
}

NoiseScaleEstimate NoiseScaleEstimator::add(const GradientNormSample& s) {
  if (!(s.b_small > 0 && s.b_big > s.b_small) || !std::isfinite(s.g2_small) || !std::isfinite(s.g2_big)) {
    throw std::invalid_argument("noise scale: expected 0 < b_small < b_big and finite norms");
  }
  const double g2 = (s.b_big * s.g2_big - s.b_small * s.g2_small) / (s.b_big - s.b_small);
  const double trace = (s.g2_small - s.g2_big) / (1.0 / s.b_small - 1.0 / s.b_big);
  g2_sum_ = decay_ * g2_sum_ + (1 - decay_) * g2;
  trace_sum_ = decay_ * trace_sum_ + (1 - decay_) * trace;
  weight_ = decay_ * weight_ + (1 - decay_);
  ++count_;
  return *current();
}

std::optional<NoiseScaleEstimate> NoiseScaleEstimator::current() const {
  if (count_ == 0) return std::nullopt;
  NoiseScaleEstimate e;
  e.g2 = g2_sum_ / weight_;
  e.trace_sigma = trace_sum_ / weight_;
  e.b_simple = e.g2 > 0 ? e.trace_sigma / e.g2 : std::numeric_limits<double>::infinity();
  return e;
}

nlohmann::json NoiseScaleEstimator::state() const {
  return {{"g2_sum", g2_sum_}, {"trace_sum", trace_sum_}, {"weight", weight_}, {"count", count_}};
}

void NoiseScaleEstimator::restore(const nlohmann::json& state) {
  g2_sum_ = state.at("g2_sum").get<double>();
  trace_sum_ = state.at("trace_sum").get<double>();
  weight_ = state.at("weight").get<double>();
  count_ = state.at("count").get<std::int64_t>();
}

}  // namespace lb
