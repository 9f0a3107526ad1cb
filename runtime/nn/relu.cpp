#include "runtime/nn/relu.hpp"

#include <stdexcept>

namespace lb {

Tensor& ReLU::forward_impl(const Tensor& x, const Context& /*ctx*/) {
  y_.reshape(x.shape(), x.layout());  // element-wise: any layout will do
  const float* in = x.data();
  float* out = y_.data();
  const std::int64_t n = x.numel();
  // Written so a NaN input stays NaN (as in PyTorch) rather than becoming 0:
  // fp16 overflow must stay visible to the loss scaler.
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) out[i] = in[i] < 0.0f ? 0.0f : in[i];
  return y_;
}

Tensor& ReLU::backward_impl(const Tensor& dy, const Context& /*ctx*/) {
  if (dy.shape() != y_.shape()) {
    throw std::invalid_argument(name() + ": gradient shape " + to_string(dy.shape()) +
                                " does not match output " + to_string(y_.shape()));
  }
  const Tensor& g_in = in_layout(dy, y_.layout(), dy_converted_);
  Tensor& dx = input_grad(dy.shape(), y_.layout());
  const float* y = y_.data();
  const float* g = g_in.data();
  float* out = dx.data();
  const std::int64_t n = dy.numel();
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) {
    const float g_i = g[i];  // loaded unconditionally so the select vectorises
    out[i] = y[i] > 0.0f ? g_i : 0.0f;
  }
  return dx;
}

}  // namespace lb
