#pragma once
// Global average pooling (N, C, H, W) -> (N, C, 1, 1), as ResNet's final
// AdaptiveAvgPool2d(1). A plain loop: each (n, c) plane is contiguous in NCHW,
// so it is one vectorised reduction per plane, parallel over planes; oneDNN
// would add a primitive per shape for no gain.
#include <string>

#include "runtime/nn/layer.hpp"

namespace lb {

class GlobalAvgPool : public Layer {
 public:
  explicit GlobalAvgPool(std::string name);

  std::string kind() const override { return "global_avg_pool"; }
  Shape output_shape(const Shape& input) const override;
  // One operation per input element.
  double forward_flops(const Shape& input) const override;

 protected:
  Tensor& forward_impl(const Tensor& x, const Context& ctx) override;
  Tensor& backward_impl(const Tensor& dy, const Context& ctx) override;

 private:
  Shape in_shape_;                    // of the last forward(); backward needs only the shape
  Layout in_layout_ = Layout::plain;  // and the layout, which dx gets
  Tensor y_;
};

}  // namespace lb
