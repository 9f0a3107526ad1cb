#include "runtime/backends/cuda/net/gpu_pool2d.hpp"

#include <stdexcept>

namespace lb::cuda {

GpuPool2d::GpuPool2d(const Layer& source, PoolWindow window, const GpuRuntime& runtime)
    : GpuLayer(source, runtime), window_(window) {}

GpuPool2d::~GpuPool2d() = default;

CudnnPooling& GpuPool2d::plan_for(const Nchw& input) {
  auto& plan = plans_[{input.n, input.c, input.h, input.w}];
  if (plan) return *plan;
  PoolGeometry g{input, window_.kernel, window_.stride, window_.padding};
  if (window_.kernel == 0) {  // global: one window over each plane
    if (input.h != input.w) {
      throw std::invalid_argument(source().name() + " (GPU): global pooling needs a square input");
    }
    g = {input, static_cast<int>(input.h), static_cast<int>(input.h), 0};
  }
  plan = std::make_unique<CudnnPooling>(runtime_.cudnn, g, window_.mode, runtime_.type);
  return *plan;
}

const GpuTensor& GpuPool2d::forward_impl(const GpuTensor& x, const GpuPass& /*pass*/) {
  const Shape out = source().output_shape(x.shape);  // validates the input
  current_ = &plan_for(x.nchw());
  const Nchw o = current_->output_shape();
  require_shape(source(), "cuDNN output", {o.n, o.c, o.h, o.w}, out);
  y_ = y_storage_.view(runtime_.allocator, out, runtime_.type);
  current_->forward(x.const_device(), y_.device());
  x_ = x;
  return y_;
}

const GpuTensor& GpuPool2d::backward_impl(const GpuTensor& dy, const GpuPass& /*pass*/) {
  if (current_ == nullptr)
    throw std::logic_error(source().name() + " (GPU): backward before forward");
  require_shape(source(), "gradient", dy.shape, y_.shape);
  if (!needs_input_grad()) return no_input_grad();  // no parameters: nothing else to do
  const GpuTensor& dx = input_grad(x_.shape, runtime_.type);
  current_->backward(x_.const_device(), y_.const_device(), dy.const_device(), dx.device());
  return dx;
}

}  // namespace lb::cuda
