#include "runtime/nn/flatten.hpp"

#include <algorithm>
#include <stdexcept>

namespace lb {

Shape Flatten::output_shape(const Shape& input) const {
  if (input.empty()) throw std::invalid_argument(name() + ": cannot flatten a scalar");
  const Shape rest(input.begin() + 1, input.end());
  return {input[0], numel(rest)};
}

Tensor& Flatten::forward_impl(const Tensor& x, const Context& /*ctx*/) {
  const Shape out = output_shape(x.shape());
  input_shape_ = x.shape();
  input_layout_ = x.layout();
  // Flattening means NCHW order (the next layer's weights are laid out so).
  convert_layout(x, Layout::plain, y_);
  y_.reshape(out);
  return y_;
}

Tensor& Flatten::backward_impl(const Tensor& dy, const Context& /*ctx*/) {
  if (dy.numel() != numel(input_shape_)) {
    throw std::invalid_argument(name() + ": gradient shape " + to_string(dy.shape()) +
                                " does not match input " + to_string(input_shape_));
  }
  // The gradient goes back in the layout the input came in, which is the one
  // the previous layer works in.
  Tensor& dx = input_grad(input_shape_, input_layout_);
  convert_layout(dy.span(), input_shape_, Layout::plain, input_layout_, dx);
  return dx;
}

}  // namespace lb
