#pragma once
// What Conv2d and Linear share: a weight (and optional bias) applied by
// oneDNN forward, backward-data and backward-weights primitives that are
// built per input shape and cached, on operands in the layouts oneDNN picks
// (format_tag::any). Activations move in those layouts when a Tensor can
// carry them (plain, nChw8c, nChw16c) and are reordered otherwise.
#include <memory>
#include <string>
#include <vector>

#include "runtime/nn/layer.hpp"
#include "runtime/nn/plan_cache.hpp"

namespace lb {

class WeightedLayer : public Layer {
 public:
  WeightedLayer(std::string name, bool bias);
  ~WeightedLayer() override;
  std::vector<Param*> params() override;
  bool has_bias() const { return has_bias_; }
  // The oneDNN kernels of the last forward()'s plan, e.g. "jit_wino_4x3:avx512_core"
  // per primitive: {forward, backward_data, backward_weights}, with "" for a
  // primitive not built yet. Tells which convolution algorithm actually ran.
  std::vector<std::string> implementations() const;

 protected:
  // A primitive and the layouts it chose for its three tensor operands:
  // (src, weights, dst) forward, (diff_dst, weights, diff_src) backward-data,
  // (src, diff_dst, diff_weights) backward-weights. Defined with oneDNN's
  // types in onednn/weighted_primitive.hpp, so this header does without them.
  struct Built;
  virtual Built build_forward(const Shape& input, bool training) const = 0;
  virtual Built build_backward_data(const Shape& input) const = 0;
  virtual Built build_backward_weights(const Shape& input) const = 0;

  // Creates zeroed weight (and bias) value and gradient tensors.
  void allocate(const Shape& weight_shape, std::int64_t bias_size);
  Param& weight() { return weight_; }
  const Param& weight() const { return weight_; }
  Param& bias() { return bias_; }

  // The input must stay alive and unchanged until backward() (true of every
  // layer's output, which is what a layer receives).
  Tensor& forward_impl(const Tensor& x, const Context& ctx) override;
  Tensor& backward_impl(const Tensor& dy, const Context& ctx) override;

 private:
  struct Plan;
  std::unique_ptr<Plan> make_plan(const Shape& input, bool training) const;
  Tensor& backward_data(Plan& plan, const Tensor& dy);
  void backward_weights(Plan& plan, const Tensor& dy);

  bool has_bias_;
  Param weight_;
  Param bias_;
  cpu::PlanCache<Plan> plans_;
  Plan* current_ = nullptr;  // the plan of the last forward()
  const Tensor* input_ = nullptr;
  Tensor y_;
};

}  // namespace lb
