#include "runtime/backends/cuda/net/gpu_conv2d.hpp"

#include <stdexcept>

#include "runtime/backends/cuda/cuda_error.hpp"

namespace lb::cuda {

GpuConv2d::GpuConv2d(const Conv2d& source, const GpuRuntime& runtime)
    : GpuLayer(source, runtime), conv_(source) {
  // params() is non-const only because it hands out mutable pointers.
  const std::vector<Param*> cpu = const_cast<Conv2d&>(source).params();
  weight_.source = cpu.at(0);
  if (source.has_bias()) {
    bias_.source = cpu.at(1);
    bias_desc_ =
        std::make_unique<TensorDescriptor>(Nchw{1, source.out_channels(), 1, 1}, runtime.type);
  }
}

GpuConv2d::~GpuConv2d() = default;

std::vector<GpuParam*> GpuConv2d::params() {
  if (conv_.has_bias()) return {&weight_, &bias_};
  return {&weight_};
}

CudnnConvolution& GpuConv2d::plan_for(const Nchw& input) {
  auto& plan = plans_[{input.n, input.c, input.h, input.w}];
  if (!plan) {
    const ConvGeometry g{input,          conv_.out_channels(), conv_.kernel(),
                         conv_.kernel(), conv_.stride(),       conv_.padding()};
    plan = std::make_unique<CudnnConvolution>(runtime_.cudnn, g, runtime_.type, runtime_.allocator);
  }
  return *plan;
}

// y = bias broadcast over (N, ., H, W); beta = 0, so y's old values are not read.
void GpuConv2d::add_bias(const GpuTensor& y) {
  const float one = 1.0f, zero = 0.0f;
  const TensorDescriptor y_desc(y.nchw(), y.type);
  LB_CUDA_CHECK(cudnnAddTensor(runtime_.cudnn.get(), &one, bias_desc_->get(), bias_.value.data,
                               &zero, y_desc.get(), y.data));
}

const GpuTensor& GpuConv2d::forward_impl(const GpuTensor& x, const GpuPass& /*pass*/) {
  if (weight_.value.empty()) throw std::logic_error(source().name() + " (GPU): weights not bound");
  const Shape out = conv_.output_shape(x.shape);  // validates the input
  current_ = &plan_for(x.nchw());
  y_ = y_storage_.view(runtime_.allocator, out, runtime_.type);
  if (conv_.has_bias()) add_bias(y_);
  current_->forward(x.const_device(), weight_.value.const_device(), y_.device(),
                    conv_.has_bias() ? 1.0f : 0.0f);
  x_ = x;
  return y_;
}

void GpuConv2d::bias_gradient(const GpuTensor& dy) {
  const float one = 1.0f, zero = 0.0f;
  const TensorDescriptor dy_desc(dy.nchw(), dy.type);
  LB_CUDA_CHECK(cudnnConvolutionBackwardBias(runtime_.cudnn.get(), &one, dy_desc.get(), dy.data,
                                             &zero, bias_desc_->get(), bias_.grad.data));
}

const GpuTensor& GpuConv2d::backward_impl(const GpuTensor& dy, const GpuPass& /*pass*/) {
  if (current_ == nullptr)
    throw std::logic_error(source().name() + " (GPU): backward before forward");
  require_shape(source(), "gradient", dy.shape, y_.shape);
  // The first layer's input (the images) needs no gradient.
  const GpuTensor& dx = needs_input_grad() ? input_grad(x_.shape, runtime_.type) : no_input_grad();
  if (!dx.empty()) {
    current_->backward_data(dy.const_device(), weight_.value.const_device(), dx.device());
  }
  current_->backward_filter(x_.const_device(), dy.const_device(), weight_.grad.device());
  if (conv_.has_bias()) bias_gradient(dy);
  return dx;
}

}  // namespace lb::cuda
