#include "runtime/nn/global_avg_pool.hpp"

#include <stdexcept>

namespace lb {

GlobalAvgPool::GlobalAvgPool(std::string name) : Layer(std::move(name)) {}

Shape GlobalAvgPool::output_shape(const Shape& input) const {
  if (input.size() != 4 || input[2] <= 0 || input[3] <= 0) {
    throw std::invalid_argument(
        name() + ": global average pooling expects input (N, C, H, W), got " + to_string(input));
  }
  return {input[0], input[1], 1, 1};
}

double GlobalAvgPool::forward_flops(const Shape& input) const {
  output_shape(input);  // validates
  return double(numel(input));
}

// Both layouts are sequences of slabs, one per (image, channel group), each
// holding H*W pixels of `block` channels (block 1: plain NCHW planes), and the
// output (N, C, 1, 1) lists the slabs' channels in order. Each channel's sum
// runs over its pixels in order, vectorised across the block's channels.
Tensor& GlobalAvgPool::forward_impl(const Tensor& x, const Context& ctx) {
  y_.reshape(output_shape(x.shape()));
  in_shape_ = x.shape();
  in_layout_ = x.layout();
  const int block = channel_block(x.layout());
  const std::int64_t slabs = x.dim(0) * x.dim(1) / block, area = x.dim(2) * x.dim(3);
  const float inv_area = 1.0f / float(area);
  const float* in = x.data();
  float* out = y_.data();
#pragma omp parallel for schedule(static)
  for (std::int64_t s = 0; s < slabs; ++s) {
    const float* slab = in + s * area * block;
    float sum[16] = {};
    for (std::int64_t p = 0; p < area; ++p) {
      for (int b = 0; b < block; ++b) sum[b] += slab[p * block + b];
    }
    for (int b = 0; b < block; ++b) out[s * block + b] = sum[b] * inv_area;
  }
  return y_;
}

Tensor& GlobalAvgPool::backward_impl(const Tensor& dy, const Context& ctx) {
  if (in_shape_.empty()) throw std::logic_error(name() + ": backward() before forward()");
  if (dy.shape() != y_.shape()) {
    throw std::invalid_argument(name() + ": gradient shape " + to_string(dy.shape()) +
                                " does not match output shape " + to_string(y_.shape()));
  }
  if (!needs_input_grad()) {
    return no_input_grad();
  }
  Tensor& dx = input_grad(in_shape_, in_layout_);
  const int block = channel_block(in_layout_);
  const std::int64_t slabs = in_shape_[0] * in_shape_[1] / block;
  const std::int64_t area = in_shape_[2] * in_shape_[3];
  const float inv_area = 1.0f / float(area);
  const float* grad = dy.data();  // (N, C, 1, 1): plain whatever its layout tag
  float* out = dx.data();
#pragma omp parallel for schedule(static)
  for (std::int64_t s = 0; s < slabs; ++s) {
    float* slab = out + s * area * block;
    for (std::int64_t p = 0; p < area; ++p) {
      for (int b = 0; b < block; ++b) slab[p * block + b] = grad[s * block + b] * inv_area;
    }
  }
  return dx;
}

}  // namespace lb
