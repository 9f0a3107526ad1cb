#pragma once
// The oneDNN pooling shared by MaxPool2d and AvgPool2d: square window, equal
// stride and padding on both axes, floor rounding of the output size (as
// PyTorch's default ceil_mode=False). Tensors stay in plain NCHW, which
// oneDNN's JIT pooling handles directly, so no reorders are needed.
#include <memory>
#include <string>

#include "runtime/nn/layer.hpp"
#include "runtime/nn/plan_cache.hpp"

namespace lb {

// Which reduction a window applies (see MaxPool2d and AvgPool2d).
enum class PoolKind { max, average };

class Pool2d : public Layer {
 public:
  ~Pool2d() override;

  Shape output_shape(const Shape& input) const override;
  // One operation per window element per output.
  double forward_flops(const Shape& input) const override;

  int kernel() const { return kernel_; }
  int stride() const { return stride_; }
  int padding() const { return padding_; }

 protected:
  Pool2d(std::string name, int kernel, int stride, int padding, PoolKind kind);
  Tensor& forward_impl(const Tensor& x, const Context& ctx) override;
  Tensor& backward_impl(const Tensor& dy, const Context& ctx) override;

 private:
  struct Plan;
  std::unique_ptr<Plan> make_plan(const Shape& input, bool training, Layout layout) const;
  void build_backward(Plan& plan) const;

  int kernel_, stride_, padding_;
  PoolKind kind_;
  cpu::PlanCache<Plan> plans_;
  Plan* current_ = nullptr;  // the plan of the last forward()
  Tensor y_;
  Tensor dy_converted_;  // dy in the plan's layout when it came in another
};

}  // namespace lb
