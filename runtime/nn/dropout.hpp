#pragma once
// Inverted dropout: in train mode each element is zeroed with probability p
// and the survivors scaled by 1/(1-p), so eval mode is the identity. The mask
// is drawn from Rng(mix(ctx.seed, hash(name))): a step's mask depends only on
// the step seed and the layer, never on thread count or call order.
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/nn/layer.hpp"

namespace lb {

class Dropout : public Layer {
 public:
  Dropout(std::string name, double p);

  std::string kind() const override { return "dropout"; }
  Shape output_shape(const Shape& input) const override { return input; }
  // One multiply per element (the mask draws are not counted).
  double forward_flops(const Shape& input) const override {
    return static_cast<double>(numel(input));
  }
  double p() const { return p_; }
  // The seed of this layer's mask in a step with Context::seed `step_seed`,
  // and the mask itself (1 = kept), in NCHW order: the GPU layer draws the
  // same masks as this one.
  std::uint64_t mask_seed(std::uint64_t step_seed) const { return mix(step_seed, name_hash_); }
  static void draw_keep_mask(double p, std::uint64_t seed, std::vector<std::uint8_t>& keep);

 protected:
  Tensor& forward_impl(const Tensor& x, const Context& ctx) override;
  Tensor& backward_impl(const Tensor& dy, const Context& ctx) override;

 private:
  void draw_mask(std::int64_t n, std::uint64_t seed);

  double p_;
  std::uint64_t name_hash_;
  std::vector<std::uint8_t> keep_;  // mask of the last train-mode forward
  Mode last_mode_ = Mode::train;
  Tensor y_;
  Tensor converted_;  // a blocked input or gradient in plain order
};

// FNV-1a: a hash of a layer name that, unlike std::hash, is the same on every
// platform, so seeded masks are reproducible across builds.
std::uint64_t stable_hash(const std::string& s);

}  // namespace lb
