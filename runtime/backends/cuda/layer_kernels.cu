#include <cuda_fp16.h>

#include <stdexcept>
#include <string>

#include "runtime/backends/cuda/cuda_error.hpp"
#include "runtime/backends/cuda/launch_config.cuh"
#include "runtime/backends/cuda/layer_kernels.hpp"
#include "runtime/backends/cuda/storage_access.cuh"
#include "runtime/core/elementwise_math.hpp"

namespace lb::cuda {
namespace {

template <class T>
__global__ void add_relu_kernel(const T* a, const T* b, T* out, std::int64_t n) {
  const std::int64_t stride = std::int64_t{gridDim.x} * blockDim.x;
  for (std::int64_t i = std::int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < n; i += stride) {
    store(out, i, math::relu(load(a, i) + load(b, i)));
  }
}

template <class T>
__global__ void keep_mask_kernel(const T* in, const std::uint8_t* keep, float scale, T* out,
                                 std::int64_t n) {
  const std::int64_t stride = std::int64_t{gridDim.x} * blockDim.x;
  for (std::int64_t i = std::int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < n; i += stride) {
    store(out, i, keep[i] ? load(in, i) * scale : 0.0f);
  }
}

template <class T>
__global__ void fill_kernel(T* out, float value, std::int64_t n) {
  const std::int64_t stride = std::int64_t{gridDim.x} * blockDim.x;
  for (std::int64_t i = std::int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < n; i += stride) {
    store(out, i, value);
  }
}

void require_same_size(std::size_t a, std::size_t b, const char* what) {
  if (a != b) throw std::invalid_argument(std::string("cuda::") + what + ": span sizes differ");
}

template <class T>
void add_relu_impl(std::span<const T> a, std::span<const T> b, std::span<T> out,
                   cudaStream_t stream) {
  require_same_size(a.size(), out.size(), "add_relu");
  require_same_size(b.size(), out.size(), "add_relu");
  if (out.empty()) return;
  const auto n = static_cast<std::int64_t>(out.size());
  add_relu_kernel<<<blocks_for(n), kThreads, 0, stream>>>(a.data(), b.data(), out.data(), n);
  LB_CUDA_CHECK_LAUNCH();
}

template <class T>
void keep_mask_impl(std::span<const T> in, std::span<const std::uint8_t> keep, float scale,
                    std::span<T> out, cudaStream_t stream) {
  require_same_size(in.size(), out.size(), "apply_keep_mask");
  require_same_size(keep.size(), out.size(), "apply_keep_mask");
  if (out.empty()) return;
  const auto n = static_cast<std::int64_t>(out.size());
  keep_mask_kernel<<<blocks_for(n), kThreads, 0, stream>>>(in.data(), keep.data(), scale,
                                                           out.data(), n);
  LB_CUDA_CHECK_LAUNCH();
}

template <class T>
void fill_impl(std::span<T> out, float value, cudaStream_t stream) {
  if (out.empty()) return;
  const auto n = static_cast<std::int64_t>(out.size());
  fill_kernel<<<blocks_for(n), kThreads, 0, stream>>>(out.data(), value, n);
  LB_CUDA_CHECK_LAUNCH();
}

}  // namespace

void add_relu(std::span<const float> a, std::span<const float> b, std::span<float> out,
              cudaStream_t stream) {
  add_relu_impl(a, b, out, stream);
}
void add_relu(std::span<const half_bits> a, std::span<const half_bits> b, std::span<half_bits> out,
              cudaStream_t stream) {
  add_relu_impl(a, b, out, stream);
}

void apply_keep_mask(std::span<const float> in, std::span<const std::uint8_t> keep, float scale,
                     std::span<float> out, cudaStream_t stream) {
  keep_mask_impl(in, keep, scale, out, stream);
}
void apply_keep_mask(std::span<const half_bits> in, std::span<const std::uint8_t> keep, float scale,
                     std::span<half_bits> out, cudaStream_t stream) {
  keep_mask_impl(in, keep, scale, out, stream);
}

void fill(std::span<float> out, float value, cudaStream_t stream) { fill_impl(out, value, stream); }
void fill(std::span<half_bits> out, float value, cudaStream_t stream) {
  fill_impl(out, value, stream);
}

}  // namespace lb::cuda
