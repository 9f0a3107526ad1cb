#include <cuda_fp16.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "runtime/backends/cuda/cuda_error.hpp"
#include "runtime/backends/cuda/launch_config.cuh"
#include "runtime/backends/cuda/unscale.hpp"
#include "runtime/core/elementwise_math.hpp"

namespace lb::cuda {
namespace {

constexpr std::int64_t kChunk = 8192;  // elements per block

template <class T>
struct UnscaleTensor {
  const T* in;
  float* out;
  std::int64_t size;
  std::int32_t first_chunk;
};

template <class T>
struct UnscaleBatch {
  std::int32_t count = 0;
  std::int32_t chunks = 0;
  UnscaleTensor<T> tensors[kMaxTensorsPerUnscale];
};

__device__ inline float to_float(float v) { return v; }
__device__ inline float to_float(half_bits v) { return __half2float(__ushort_as_half(v)); }

template <class T>
__global__ void unscale_kernel(const __grid_constant__ UnscaleBatch<T> batch, float grad_scale,
                               int* found_inf) {
  const int t = entry_of(batch.tensors, batch.count, blockIdx.x,
                         [](const UnscaleTensor<T>& e) { return e.first_chunk; });
  const UnscaleTensor<T>& e = batch.tensors[t];
  const std::int64_t begin = (blockIdx.x - e.first_chunk) * kChunk;
  const std::int64_t end = e.size - begin < kChunk ? e.size : begin + kChunk;
  int bad = 0;
  for (std::int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    const float g = to_float(e.in[i]);
    bad |= math::is_inf_or_nan(g) ? 1 : 0;
    e.out[i] = math::unscale(g, grad_scale);
  }
  // One store per block that saw a bad value; racing stores all write 1.
  if (__syncthreads_or(bad) && threadIdx.x == 0) *found_inf = 1;
}

template <class T>
void launch(const UnscaleBatch<T>& batch, float grad_scale, int* found_inf, cudaStream_t stream) {
  if (batch.chunks == 0) return;
  unscale_kernel<T><<<batch.chunks, kThreads, 0, stream>>>(batch, grad_scale, found_inf);
  LB_CUDA_CHECK_LAUNCH();
}

template <class T>
void unscale_impl(std::span<const std::span<const T>> grads, std::span<const std::span<float>> out,
                  float grad_scale, std::span<int> found_inf, cudaStream_t stream) {
  if (grads.size() != out.size())
    throw std::invalid_argument("unscale_and_check: list sizes differ");
  if (found_inf.size() != 1) throw std::invalid_argument("unscale_and_check: found_inf is one int");
  LB_CUDA_CHECK(cudaMemsetAsync(found_inf.data(), 0, found_inf.size_bytes(), stream));
  auto batch = std::make_unique<UnscaleBatch<T>>();  // 16 KiB: not on the stack
  for (std::size_t i = 0; i < grads.size(); ++i) {
    if (grads[i].size() != out[i].size()) {
      throw std::invalid_argument("unscale_and_check: tensor " + std::to_string(i) +
                                  ": input and output sizes differ");
    }
    if (batch->count == kMaxTensorsPerUnscale) {
      launch(*batch, grad_scale, found_inf.data(), stream);
      *batch = UnscaleBatch<T>{};
    }
    const auto size = static_cast<std::int64_t>(grads[i].size());
    batch->tensors[batch->count++] = {grads[i].data(), out[i].data(), size, batch->chunks};
    batch->chunks += static_cast<std::int32_t>((size + kChunk - 1) / kChunk);
  }
  launch(*batch, grad_scale, found_inf.data(), stream);
}

}  // namespace

void unscale_and_check(std::span<const std::span<const float>> grads,
                       std::span<const std::span<float>> out, float grad_scale,
                       std::span<int> found_inf, cudaStream_t stream) {
  unscale_impl(grads, out, grad_scale, found_inf, stream);
}

void unscale_and_check(std::span<const std::span<const half_bits>> grads,
                       std::span<const std::span<float>> out, float grad_scale,
                       std::span<int> found_inf, cudaStream_t stream) {
  unscale_impl(grads, out, grad_scale, found_inf, stream);
}

}  // namespace lb::cuda
