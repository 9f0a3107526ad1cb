#pragma once
// Learning-rate schedule: linear scaling of optimizer.lr.base (per 256 images)
// with the global batch, linear warm-up, then poly, cosine, step or no decay.
#include <cstdint>

#include "runtime/core/spec.hpp"

namespace lb {

class LrSchedule {
 public:
  LrSchedule(const LrSpec& spec, std::int64_t global_batch, std::int64_t steps_per_epoch,
             std::int64_t total_steps);
  double peak() const { return peak_; }
  double at(std::int64_t step) const;  // lr used for step `step` (0-based)

 private:
  LrSpec spec_;
  double peak_;
  std::int64_t steps_per_epoch_;
  std::int64_t warmup_steps_;
  std::int64_t total_steps_;
};

}  // namespace lb
