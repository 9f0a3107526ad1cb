#pragma once
// Optimizers update fp32 master weights from (possibly loss-scaled, half-
// rounded) gradients. They never modify the gradient they are given.
#include <memory>
#include <span>
#include <string>

#include "runtime/core/spec.hpp"

namespace lb {

// One parameter tensor as the optimizer sees it. All spans have equal size.
struct OptimSlot {
  std::span<float> weight;      // fp32 master weights, updated in place
  std::span<const float> grad;  // gradient times grad_scale's inverse (the loss scale)
  std::span<float> momentum;    // the optimizer's velocity, owned by the caller
  bool weight_decay = true;     // false for bias/BatchNorm unless decay_bias_and_norm
  bool adapt = true;            // LARS trust ratio applies (false: plain SGD step)
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual std::string name() const = 0;
  // One step at learning rate `lr`; the true gradient is grad * grad_scale
  // (grad_scale = 1 / loss scale), folded into the same pass over memory.
  virtual void step(std::span<const OptimSlot> slots, float lr, float grad_scale) = 0;
};

std::unique_ptr<Optimizer> make_optimizer(const OptimizerSpec& spec);

}  // namespace lb
