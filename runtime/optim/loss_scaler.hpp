#pragma once
// Loss scaling for fp16 training: the loss is multiplied by scale() before
// backward so small gradients survive binary16; the optimizer divides it out.
// Dynamic mode halves the scale and skips the step on inf/NaN gradients, and
// doubles it after growth_interval clean steps, within [min, max].
#include <cstdint>
#include <span>

#include "runtime/core/spec.hpp"

namespace lb {

class LossScaler {
 public:
  explicit LossScaler(const LossScaleSpec& spec, bool enabled);
  float scale() const { return static_cast<float>(scale_); }
  // Records a step's outcome; returns true when the optimizer should apply it.
  bool update(bool gradients_finite);
  std::int64_t skipped_steps() const { return skipped_; }

  struct State {
    double scale;
    std::int64_t clean_steps;
    std::int64_t skipped;
  };
  State state() const { return {scale_, clean_steps_, skipped_}; }
  // Resumes from a checkpointed state. Only dynamic mode takes the saved
  // scale; static and disabled scaling keep the configured one.
  void restore(const State& s);

 private:
  LossScaleSpec spec_;
  bool skips_;  // static and dynamic: a non-finite step is skipped
  bool dynamic_;
  double scale_;
  std::int64_t clean_steps_ = 0;
  std::int64_t skipped_ = 0;
};

// True when every value is finite (checks the gradients before unscaling).
bool all_finite(std::span<const float> values);

}  // namespace lb
