#pragma once
// y = max(x, 0). Backward masks with the stored output (y > 0), so the layer
// needs no copy of its input.
#include <string>

#include "runtime/nn/layer.hpp"

namespace lb {

class ReLU : public Layer {
 public:
  explicit ReLU(std::string name) : Layer(std::move(name)) {}

  std::string kind() const override { return "relu"; }
  Shape output_shape(const Shape& input) const override { return input; }
  // One comparison per element.
  double forward_flops(const Shape& input) const override {
    return static_cast<double>(numel(input));
  }

 protected:
  Tensor& forward_impl(const Tensor& x, const Context& ctx) override;
  Tensor& backward_impl(const Tensor& dy, const Context& ctx) override;

 private:
  Tensor y_;
  Tensor dy_converted_;  // dy in y's layout when it came in another
};

}  // namespace lb
