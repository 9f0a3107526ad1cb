#include "runtime/backends/cuda/net/gpu_batch_norm.hpp"

#include <stdexcept>

#include "runtime/backends/cuda/net/tensor_ops.hpp"

namespace lb::cuda {

GpuBatchNorm::GpuBatchNorm(const BatchNorm& source, const GpuRuntime& runtime)
    : GpuLayer(source, runtime),
      bn_(source),
      saved_mean_(runtime.allocator, static_cast<std::size_t>(source.channels())),
      saved_inv_std_(runtime.allocator, static_cast<std::size_t>(source.channels())) {
  // params() and buffers() are non-const only because they hand out mutable pointers.
  auto& cpu = const_cast<BatchNorm&>(source);
  gamma_.source = cpu.params().at(0);
  beta_.source = cpu.params().at(1);
  running_mean_.source = cpu.buffers().at(0);
  running_var_.source = cpu.buffers().at(1);
}

GpuBatchNorm::~GpuBatchNorm() = default;

CudnnBatchNorm& GpuBatchNorm::plan_for(const Nchw& shape) {
  auto& plan = plans_[{shape.n, shape.c, shape.h, shape.w}];
  if (!plan)
    plan = std::make_unique<CudnnBatchNorm>(runtime_.cudnn, shape, runtime_.type, bn_.epsilon());
  return *plan;
}

// The weight of this batch in the running statistics.
double GpuBatchNorm::average_factor() {
  if (recalibrating_) return 1.0 / double(++recalibration_batches_);
  return bn_.momentum();
}

const GpuTensor& GpuBatchNorm::forward_impl(const GpuTensor& x, const GpuPass& pass) {
  if (gamma_.value.empty())
    throw std::logic_error(source().name() + " (GPU): parameters not bound");
  bn_.output_shape(x.shape);  // validates the input
  current_ = &plan_for(x.nchw());
  y_ = y_storage_.view(runtime_.allocator, x.shape, runtime_.type);
  const BatchNormParams params{gamma_.value.as<float>(), beta_.value.as<float>()};
  const BatchNormRunning running{running_mean_.device, running_var_.device};
  last_training_ = pass.mode == Mode::train;
  if (last_training_) {
    current_->forward_training(x.const_device(), y_.device(), params, average_factor(), running,
                               {saved_mean_.span(), saved_inv_std_.span()});
  } else {
    current_->forward_inference(x.const_device(), y_.device(), params, running);
  }
  if (bn_.fused_relu()) relu_forward(y_, y_, runtime_.stream);
  x_ = x;
  return y_;
}

const GpuTensor& GpuBatchNorm::backward_impl(const GpuTensor& dy, const GpuPass& /*pass*/) {
  if (current_ == nullptr || !last_training_) {
    throw std::logic_error(source().name() + " (GPU): backward without a training forward");
  }
  require_shape(source(), "gradient", dy.shape, y_.shape);
  GpuTensor through_relu = dy;
  if (bn_.fused_relu()) {
    through_relu = masked_storage_.view(runtime_.allocator, dy.shape, runtime_.type);
    relu_backward(y_, dy, through_relu, runtime_.stream);
  }
  // cuDNN computes dx in any case; even a first layer gets it.
  const GpuTensor& dx = input_grad(x_.shape, runtime_.type);
  current_->backward(x_.const_device(), through_relu.const_device(), dx.device(),
                     {gamma_.value.as<float>(), beta_.value.as<float>()},
                     {saved_mean_.span(), saved_inv_std_.span()},
                     {gamma_.grad.as<float>(), beta_.grad.as<float>()});
  masked_storage_.release();  // stream-ordered: reusable by later work only
  return dx;
}

}  // namespace lb::cuda
