#pragma once
// (N, d1, d2, ...) -> (N, d1*d2*...). The data is copied because every layer
// owns the tensor it returns; the copy is cheap next to the layers around it.
#include <string>

#include "runtime/nn/layer.hpp"

namespace lb {

class Flatten : public Layer {
 public:
  explicit Flatten(std::string name) : Layer(std::move(name)) {}

  std::string kind() const override { return "flatten"; }
  Shape output_shape(const Shape& input) const override;

 protected:
  Tensor& forward_impl(const Tensor& x, const Context& ctx) override;
  Tensor& backward_impl(const Tensor& dy, const Context& ctx) override;

 private:
  Shape input_shape_;
  Layout input_layout_ = Layout::plain;  // dx is returned in it
  Tensor y_;
};

}  // namespace lb
