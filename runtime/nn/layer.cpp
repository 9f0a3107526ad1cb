#include "runtime/nn/layer.hpp"

#include "runtime/nn/gradient_pool.hpp"
#include "runtime/nn/half_rounding.hpp"

namespace lb {

namespace {
using Clock = std::chrono::steady_clock;
}  // namespace

const Tensor& Layer::forward_native(const Tensor& x, const Context& ctx) {
  if (is_composite()) return forward_impl(x, ctx);
  const auto begin = ctx.observer ? Clock::now() : Clock::time_point{};
  Tensor& y = forward_impl(x, ctx);
  if (ctx.precision == Precision::fp16) round_to_half_parallel(y.span());
  if (ctx.observer) ctx.observer->forward_done(*this, begin, Clock::now());
  return y;
}

const Tensor& Layer::backward_native(const Tensor& dy, const Context& ctx) {
  if (is_composite()) return backward_impl(dy, ctx);
  const auto begin = ctx.observer ? Clock::now() : Clock::time_point{};
  Tensor& dx = backward_impl(dy, ctx);
  if (ctx.precision == Precision::fp16) round_to_half_parallel(dx.span());
  if (ctx.observer) ctx.observer->backward_done(*this, begin, Clock::now());
  return dx;
}

const Tensor& Layer::forward(const Tensor& x, const Context& ctx) {
  return in_layout(forward_native(x, ctx), Layout::plain, plain_y_);
}

const Tensor& Layer::backward(const Tensor& dy, const Context& ctx) {
  return in_layout(backward_native(dy, ctx), Layout::plain, plain_dx_);
}

Tensor& Layer::input_grad(const Shape& shape, Layout layout) {
  if (input_grad_.capacity() < numel(shape)) {
    GradientPool::local().give(std::move(input_grad_));
    input_grad_ = GradientPool::local().take(numel(shape));
  }
  input_grad_.reshape(shape, layout);
  return input_grad_;
}

void Layer::release_input_grad() {
  GradientPool::local().give(std::move(input_grad_));
  input_grad_ = Tensor();
}

void Layer::describe(const Shape& input, std::vector<LayerInfo>& rows) const {
  rows.push_back({name(), kind(), output_shape(input), param_count(), forward_flops(input)});
}

}  // namespace lb
