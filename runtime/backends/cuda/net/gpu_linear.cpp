#include "runtime/backends/cuda/net/gpu_linear.hpp"

#include <stdexcept>

#include "runtime/backends/cuda/net/tensor_ops.hpp"

namespace lb::cuda {

GpuLinear::GpuLinear(const Linear& source, const GpuRuntime& runtime)
    : GpuLayer(source, runtime), linear_(source) {
  // params() is non-const only because it hands out mutable pointers.
  const std::vector<Param*> cpu = const_cast<Linear&>(source).params();
  weight_.source = cpu.at(0);
  if (source.has_bias()) bias_.source = cpu.at(1);
}

std::vector<GpuParam*> GpuLinear::params() {
  if (linear_.has_bias()) return {&weight_, &bias_};
  return {&weight_};
}

const GpuTensor& GpuLinear::ones(std::int64_t rows) {
  if (ones_.numel() != rows) {
    ones_ = ones_storage_.view(runtime_.allocator, {rows}, runtime_.type);
    fill(ones_, 1.0f, runtime_.stream);
  }
  return ones_;
}

const GpuTensor& GpuLinear::forward_impl(const GpuTensor& x, const GpuPass& /*pass*/) {
  if (weight_.value.empty()) throw std::logic_error(source().name() + " (GPU): weights not bound");
  const Shape out = linear_.output_shape(x.shape);  // validates the input
  const std::int64_t n = out[0], in_features = linear_.in_features();
  const std::int64_t out_features = linear_.out_features();
  y_ = y_storage_.view(runtime_.allocator, out, runtime_.type);
  float beta = 0.0f;
  if (linear_.has_bias()) {
    gemm(runtime_.cublas, {n, out_features, 1}, 1.0f, ones(n), bias_.value, 0.0f, y_);
    beta = 1.0f;
  }
  gemm(runtime_.cublas, {n, out_features, in_features, Transpose::no, Transpose::yes}, 1.0f, x,
       weight_.value, beta, y_);
  x_ = x;
  return y_;
}

const GpuTensor& GpuLinear::backward_impl(const GpuTensor& dy, const GpuPass& /*pass*/) {
  if (x_.empty()) throw std::logic_error(source().name() + " (GPU): backward before forward");
  require_shape(source(), "gradient", dy.shape, y_.shape);
  const std::int64_t n = dy.shape[0], in_features = linear_.in_features();
  const std::int64_t out_features = linear_.out_features();
  const GpuTensor& dx = needs_input_grad() ? input_grad(x_.shape, runtime_.type) : no_input_grad();
  if (!dx.empty()) {
    gemm(runtime_.cublas, {n, in_features, out_features}, 1.0f, dy, weight_.value, 0.0f, dx);
  }
  gemm(runtime_.cublas, {out_features, in_features, n, Transpose::yes, Transpose::no}, 1.0f, dy, x_,
       0.0f, weight_.grad);
  if (linear_.has_bias()) {
    gemm(runtime_.cublas, {1, out_features, n}, 1.0f, ones(n), dy, 0.0f, bias_.grad);
  }
  return dx;
}

}  // namespace lb::cuda
