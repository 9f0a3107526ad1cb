// Learning-rate schedule (Goyal et al. 2017 linear scaling and warm-up, then
// the decay of LrSpec::decay):
//   peak = base * global_batch / 256          (base when !scale_with_batch)
//   W    = round(warmup_epochs * steps_per_epoch), T = total_steps
//   s < W:  peak * (warmup_start + (1 - warmup_start) * (s + 1) / W)
//   s >= W, p = (s - W) / (T - W):
//     poly    min + (peak - min) * (1 - p)^poly_power
//     cosine  min + (peak - min) * (1 + cos(pi * p)) / 2
//     step    max(min, peak * step_gamma^#{e in step_epochs : e <= s / steps_per_epoch})
//     none    peak
// Steps past T are clamped to T, so the lr stays at its final value (p = 1).
// With T <= W there is nothing left to decay and p is taken as 1.
#include "runtime/optim/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>

#include "runtime/core/errors.hpp"

namespace lb {

LrSchedule::LrSchedule(const LrSpec& spec, std::int64_t global_batch, std::int64_t steps_per_epoch,
                       std::int64_t total_steps)
    : spec_(spec),
      peak_(spec.scale_with_batch ? spec.base * static_cast<double>(global_batch) / 256.0
                                  : spec.base),
      steps_per_epoch_(steps_per_epoch),
      warmup_steps_(std::llround(spec.warmup_epochs * static_cast<double>(steps_per_epoch))),
      total_steps_(total_steps) {
  if (steps_per_epoch <= 0 || total_steps < 0 || global_batch <= 0) {
    throw std::invalid_argument(
        "LrSchedule: steps_per_epoch and global_batch must be positive, total_steps >= 0");
  }
}

double LrSchedule::at(std::int64_t step) const {
  const std::int64_t s = std::clamp<std::int64_t>(step, 0, total_steps_);
  if (s < warmup_steps_) {
    const double ramp = static_cast<double>(s + 1) / static_cast<double>(warmup_steps_);
    return peak_ * (spec_.warmup_start + (1.0 - spec_.warmup_start) * ramp);
  }
  if (spec_.decay == LrDecay::none) return peak_;
  if (spec_.decay == LrDecay::step) {
    const double epoch = static_cast<double>(s) / static_cast<double>(steps_per_epoch_);
    const auto passed = std::count_if(spec_.step_epochs.begin(), spec_.step_epochs.end(),
                                      [epoch](double e) { return e <= epoch; });
    return std::max(spec_.min, peak_ * std::pow(spec_.step_gamma, static_cast<double>(passed)));
  }
  const std::int64_t span = total_steps_ - warmup_steps_;
  const double p =
      span > 0 ? static_cast<double>(s - warmup_steps_) / static_cast<double>(span) : 1.0;
  const double range = peak_ - spec_.min;
  if (spec_.decay == LrDecay::poly) return spec_.min + range * std::pow(1.0 - p, spec_.poly_power);
  return spec_.min + range * 0.5 * (1.0 + std::cos(std::numbers::pi * p));  // cosine
}

}  // namespace lb
