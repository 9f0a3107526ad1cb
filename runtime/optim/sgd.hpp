#pragma once
// Momentum SGD in the PyTorch convention: the velocity accumulates the
// (decayed) gradient and the learning rate scales it at the weight update.
#include <span>
#include <string>

#include "runtime/core/spec.hpp"
#include "runtime/optim/optimizer.hpp"

namespace lb {

class SgdOptimizer final : public Optimizer {
 public:
  // Reads momentum, nesterov and weight_decay from `spec`.
  explicit SgdOptimizer(const OptimizerSpec& spec);
  std::string name() const override { return "sgd"; }
  void step(std::span<const OptimSlot> slots, float lr, float grad_scale) override;

 private:
  float momentum_;
  bool nesterov_;
  float weight_decay_;
};

}  // namespace lb
