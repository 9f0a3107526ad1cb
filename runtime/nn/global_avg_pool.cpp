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

Tensor& GlobalAvgPool::forward_impl(const Tensor& x, const Context& ctx) {
  y_.reshape(output_shape(x.shape()));
  in_shape_ = x.shape();
  const std::int64_t planes = x.dim(0) * x.dim(1), area = x.dim(2) * x.dim(3);
  const float inv_area = 1.0f / float(area);
  const float* in = x.data();
  float* out = y_.data();
#pragma omp parallel for schedule(static)
  for (std::int64_t p = 0; p < planes; ++p) {
    const float* plane = in + p * area;
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (std::int64_t i = 0; i < area; ++i) sum += plane[i];
    out[p] = sum * inv_area;
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
    dx_ = Tensor();
    return dx_;
  }
  dx_.reshape(in_shape_);
  const std::int64_t planes = in_shape_[0] * in_shape_[1], area = in_shape_[2] * in_shape_[3];
  const float inv_area = 1.0f / float(area);
  const float* grad = dy.data();
  float* out = dx_.data();
#pragma omp parallel for schedule(static)
  for (std::int64_t p = 0; p < planes; ++p) {
    const float g = grad[p] * inv_area;
    float* plane = out + p * area;
#pragma omp simd
    for (std::int64_t i = 0; i < area; ++i) plane[i] = g;
  }
  return dx_;
}

}  // namespace lb
