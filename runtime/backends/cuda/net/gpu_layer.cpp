#include "runtime/backends/cuda/net/gpu_layer.hpp"

#include <stdexcept>

namespace lb::cuda {

const GpuTensor& GpuLayer::forward(const GpuTensor& x, const GpuPass& pass) {
  if (is_composite()) return forward_impl(x, pass);
  started(pass, Direction::forward);
  const GpuTensor& y = forward_impl(x, pass);
  finished(pass, Direction::forward);
  return y;
}

const GpuTensor& GpuLayer::backward(const GpuTensor& dy, const GpuPass& pass) {
  if (is_composite()) return backward_impl(dy, pass);
  started(pass, Direction::backward);
  const GpuTensor& dx = backward_impl(dy, pass);
  finished(pass, Direction::backward);
  return dx;
}

const GpuTensor& GpuLayer::input_grad(const Shape& shape, DataType type) {
  dx_ = input_grad_.view(runtime_.allocator, shape, type);
  return dx_;
}

const GpuTensor& GpuLayer::no_input_grad() {
  input_grad_.release();
  dx_ = GpuTensor{};
  return dx_;
}

void GpuLayer::started(const GpuPass& pass, Direction d) const {
  if (pass.observer != nullptr) pass.observer->started(*this, d);
}

void GpuLayer::finished(const GpuPass& pass, Direction d) const {
  if (pass.observer != nullptr) pass.observer->finished(*this, d);
}

void require_shape(const Layer& layer, const char* what, const Shape& actual,
                   const Shape& expected) {
  if (actual != expected) {
    throw std::invalid_argument(layer.name() + " (GPU): " + what + " " + lb::to_string(actual) +
                                " does not match " + lb::to_string(expected));
  }
}

}  // namespace lb::cuda
