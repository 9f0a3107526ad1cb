#include "runtime/backends/cuda/net/gpu_dropout.hpp"

#include "runtime/backends/cuda/net/tensor_ops.hpp"

namespace lb::cuda {

const GpuTensor& GpuDropout::forward_impl(const GpuTensor& x, const GpuPass& pass) {
  y_ = y_storage_.view(runtime_.allocator, x.shape, runtime_.type);
  last_mode_ = pass.mode;
  if (!active()) {
    cast(x, y_, runtime_.stream);  // the identity
    return y_;
  }
  host_keep_.resize(static_cast<std::size_t>(x.numel()));
  Dropout::draw_keep_mask(dropout_.p(), dropout_.mask_seed(pass.seed), host_keep_);
  if (keep_.size() < host_keep_.size())
    keep_ = DeviceBuffer<std::uint8_t>(runtime_.allocator, host_keep_.size());
  const std::span<std::uint8_t> keep = keep_.span().first(host_keep_.size());
  // From pageable memory the copy has read host_keep_ when it returns.
  copy(std::span<const std::uint8_t>(host_keep_), keep, runtime_.stream);
  apply_keep_mask(x, keep, scale(), y_, runtime_.stream);
  return y_;
}

const GpuTensor& GpuDropout::backward_impl(const GpuTensor& dy, const GpuPass& /*pass*/) {
  require_shape(source(), "gradient", dy.shape, y_.shape);
  const GpuTensor& dx = input_grad(dy.shape, runtime_.type);
  if (!active()) {
    cast(dy, dx, runtime_.stream);
    return dx;
  }
  apply_keep_mask(dy, keep_.span().first(static_cast<std::size_t>(dy.numel())), scale(), dx,
                  runtime_.stream);
  return dx;
}

}  // namespace lb::cuda
