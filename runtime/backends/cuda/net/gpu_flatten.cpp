#include "runtime/backends/cuda/net/gpu_flatten.hpp"

#include "runtime/backends/cuda/net/tensor_ops.hpp"

namespace lb::cuda {

const GpuTensor& GpuFlatten::forward_impl(const GpuTensor& x, const GpuPass& /*pass*/) {
  input_shape_ = x.shape;
  y_ = x.reshaped(source().output_shape(x.shape));
  return y_;
}

const GpuTensor& GpuFlatten::backward_impl(const GpuTensor& dy, const GpuPass& /*pass*/) {
  require_shape(source(), "gradient", dy.shape, y_.shape);
  const GpuTensor& dx = input_grad(input_shape_, runtime_.type);
  cast(dy, dx.reshaped(dy.shape), runtime_.stream);  // same type: a device copy
  return dx;
}

}  // namespace lb::cuda
