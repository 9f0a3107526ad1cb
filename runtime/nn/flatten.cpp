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
  y_.reshape(output_shape(x.shape()));
  input_shape_ = x.shape();
  std::copy_n(x.data(), x.numel(), y_.data());
  return y_;
}

Tensor& Flatten::backward_impl(const Tensor& dy, const Context& /*ctx*/) {
  if (dy.numel() != numel(input_shape_)) {
    throw std::invalid_argument(name() + ": gradient shape " + to_string(dy.shape()) +
                                " does not match input " + to_string(input_shape_));
  }
  dx_.reshape(input_shape_);
  std::copy_n(dy.data(), dy.numel(), dx_.data());
  return dx_;
}

}  // namespace lb
