#include "runtime/backends/cuda/net/gpu_relu.hpp"

#include "runtime/backends/cuda/net/tensor_ops.hpp"

namespace lb::cuda {

const GpuTensor& GpuRelu::forward_impl(const GpuTensor& x, const GpuPass& /*pass*/) {
  y_ = y_storage_.view(runtime_.allocator, x.shape, runtime_.type);
  relu_forward(x, y_, runtime_.stream);
  return y_;
}

const GpuTensor& GpuRelu::backward_impl(const GpuTensor& dy, const GpuPass& /*pass*/) {
  require_shape(source(), "gradient", dy.shape, y_.shape);
  const GpuTensor& dx = input_grad(dy.shape, runtime_.type);
  relu_backward(y_, dy, dx, runtime_.stream);
  return dx;
}

}  // namespace lb::cuda
