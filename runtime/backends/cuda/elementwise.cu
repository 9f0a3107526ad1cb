#include <cuda_fp16.h>

#include <stdexcept>

#include "runtime/backends/cuda/cuda_error.hpp"
#include "runtime/backends/cuda/elementwise.hpp"
#include "runtime/backends/cuda/launch_config.cuh"
#include "runtime/backends/cuda/storage_access.cuh"
#include "runtime/core/elementwise_math.hpp"

namespace lb::cuda {
namespace {

template <class In, class Out>
__global__ void cast_kernel(const In* in, Out* out, std::int64_t n) {
  const std::int64_t stride = std::int64_t{gridDim.x} * blockDim.x;
  for (std::int64_t i = std::int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < n; i += stride) {
    store(out, i, load(in, i));
  }
}

template <class T>
__global__ void add_kernel(const T* a, const T* b, T* out, std::int64_t n) {
  const std::int64_t stride = std::int64_t{gridDim.x} * blockDim.x;
  for (std::int64_t i = std::int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < n; i += stride) {
    store(out, i, load(a, i) + load(b, i));
  }
}

template <class T>
__global__ void relu_kernel(const T* x, T* y, std::int64_t n) {
  const std::int64_t stride = std::int64_t{gridDim.x} * blockDim.x;
  for (std::int64_t i = std::int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < n; i += stride) {
    store(y, i, math::relu(load(x, i)));
  }
}

template <class T>
__global__ void relu_backward_kernel(const T* y, const T* dy, T* dx, std::int64_t n) {
  const std::int64_t stride = std::int64_t{gridDim.x} * blockDim.x;
  for (std::int64_t i = std::int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < n; i += stride) {
    store(dx, i, math::relu_backward(load(y, i), load(dy, i)));
  }
}

void require_same_size(std::size_t a, std::size_t b, const char* what) {
  if (a != b) throw std::invalid_argument(std::string("cuda::") + what + ": span sizes differ");
}

template <class In, class Out>
void cast(std::span<const In> in, std::span<Out> out, cudaStream_t stream) {
  require_same_size(in.size(), out.size(), "cast");
  if (in.empty()) return;
  const auto n = static_cast<std::int64_t>(in.size());
  cast_kernel<<<blocks_for(n), kThreads, 0, stream>>>(in.data(), out.data(), n);
  LB_CUDA_CHECK_LAUNCH();
}

template <class T>
void add_impl(std::span<const T> a, std::span<const T> b, std::span<T> out, cudaStream_t stream) {
  require_same_size(a.size(), out.size(), "add");
  require_same_size(b.size(), out.size(), "add");
  if (out.empty()) return;
  const auto n = static_cast<std::int64_t>(out.size());
  add_kernel<<<blocks_for(n), kThreads, 0, stream>>>(a.data(), b.data(), out.data(), n);
  LB_CUDA_CHECK_LAUNCH();
}

template <class T>
void relu_impl(std::span<const T> x, std::span<T> y, cudaStream_t stream) {
  require_same_size(x.size(), y.size(), "relu_forward");
  if (y.empty()) return;
  const auto n = static_cast<std::int64_t>(y.size());
  relu_kernel<<<blocks_for(n), kThreads, 0, stream>>>(x.data(), y.data(), n);
  LB_CUDA_CHECK_LAUNCH();
}

template <class T>
void relu_backward_impl(std::span<const T> y, std::span<const T> dy, std::span<T> dx,
                        cudaStream_t stream) {
  require_same_size(y.size(), dx.size(), "relu_backward");
  require_same_size(dy.size(), dx.size(), "relu_backward");
  if (dx.empty()) return;
  const auto n = static_cast<std::int64_t>(dx.size());
  relu_backward_kernel<<<blocks_for(n), kThreads, 0, stream>>>(y.data(), dy.data(), dx.data(), n);
  LB_CUDA_CHECK_LAUNCH();
}

}  // namespace

void to_half(std::span<const float> in, std::span<half_bits> out, cudaStream_t stream) {
  cast(in, out, stream);
}
void from_half(std::span<const half_bits> in, std::span<float> out, cudaStream_t stream) {
  cast(in, out, stream);
}

void add(std::span<const float> a, std::span<const float> b, std::span<float> out,
         cudaStream_t stream) {
  add_impl(a, b, out, stream);
}
void add(std::span<const half_bits> a, std::span<const half_bits> b, std::span<half_bits> out,
         cudaStream_t stream) {
  add_impl(a, b, out, stream);
}

void relu_forward(std::span<const float> x, std::span<float> y, cudaStream_t stream) {
  relu_impl(x, y, stream);
}
void relu_forward(std::span<const half_bits> x, std::span<half_bits> y, cudaStream_t stream) {
  relu_impl(x, y, stream);
}

void relu_backward(std::span<const float> y, std::span<const float> dy, std::span<float> dx,
                   cudaStream_t stream) {
  relu_backward_impl(y, dy, dx, stream);
}
void relu_backward(std::span<const half_bits> y, std::span<const half_bits> dy,
                   std::span<half_bits> dx, cudaStream_t stream) {
  relu_backward_impl(y, dy, dx, stream);
}

}  // namespace lb::cuda
