#include "runtime/nn/layer.hpp"

#include "runtime/core/half.hpp"

namespace lb {

const Tensor& Layer::forward(const Tensor& x, const Context& ctx) {
  Tensor& y = forward_impl(x, ctx);
  if (ctx.precision == Precision::fp16 && !is_composite()) round_to_half(y.span());
  return y;
}

const Tensor& Layer::backward(const Tensor& dy, const Context& ctx) {
  Tensor& dx = backward_impl(dy, ctx);
  if (ctx.precision == Precision::fp16 && !is_composite()) round_to_half(dx.span());
  return dx;
}

void Layer::describe(const Shape& input, std::vector<LayerInfo>& rows) const {
  rows.push_back({name(), kind(), output_shape(input), param_count(), forward_flops(input)});
}

}  // namespace lb
