#pragma once
// LARS (You, Gitman, Ginsburg 2017): momentum SGD with a per-tensor trust
// ratio. The formulas are documented at the top of lars.cpp.
#include <span>
#include <string>
#include <vector>

#include "runtime/core/spec.hpp"
#include "runtime/optim/optimizer.hpp"

namespace lb {

class LarsOptimizer final : public Optimizer {
 public:
  // Reads momentum, nesterov, weight_decay and lars.{eta,epsilon,clip} from
  // `spec`. (lars.skip_bias_and_norm is the caller's: it sets OptimSlot::adapt.)
  explicit LarsOptimizer(const OptimizerSpec& spec);
  std::string name() const override { return "lars"; }
  void step(std::span<const OptimSlot> slots, float lr, float grad_scale) override;

  // The local learning rate (trust ratio, after clipping) each slot got in
  // the last step(), in slot order; 1 for slots with adapt == false. For
  // logging and tests.
  const std::vector<double>& last_local_lrs() const { return last_local_lrs_; }

 private:
  // Every slot's local learning rate (1 where !adapt) from the norms of its
  // weight and true gradient.
  std::vector<double> local_lrs(std::span<const OptimSlot> slots, float grad_scale) const;

  float momentum_;
  bool nesterov_;
  double weight_decay_;
  LarsSpec lars_;
  std::vector<double> last_local_lrs_;
};

// L2 norms of a weight tensor and a gradient tensor of equal size, computed in
// one pass with double accumulation (each fp32 square is exact in double).
struct L2Norms {
  double weight;
  double grad;
};
L2Norms l2_norms(std::span<const float> weight, std::span<const float> grad);

// LARS local learning rate for a tensor with the given norms (grad_norm of the
// true, unscaled gradient) and weight decay (0 when the tensor does not
// decay): eta*||w|| / (||g|| + wd*||w|| + epsilon), 1 when either norm is 0,
// at most 1 when lars.clip.
double lars_local_lr(const LarsSpec& lars, double weight_norm, double grad_norm,
                     double weight_decay);

}  // namespace lb
