#pragma once
// Element-wise kernels of the GPU layers that elementwise.hpp does not have:
// a residual block's add fused with its ReLU, dropout's mask, and filling a
// tensor with one value. Spans are device memory, fp32 or fp16 storage with
// fp32 arithmetic (as elementwise.hpp); every call enqueues on `stream`.
#include <cuda_runtime_api.h>

#include <cstdint>
#include <span>

#include "runtime/core/half.hpp"

namespace lb::cuda {

// out = relu(a + b), NaN kept (out may be a or b): one pass instead of two.
void add_relu(std::span<const float> a, std::span<const float> b, std::span<float> out,
              cudaStream_t stream);
void add_relu(std::span<const half_bits> a, std::span<const half_bits> b, std::span<half_bits> out,
              cudaStream_t stream);

// out = keep ? in * scale : 0 (inverted dropout, forward and backward).
void apply_keep_mask(std::span<const float> in, std::span<const std::uint8_t> keep, float scale,
                     std::span<float> out, cudaStream_t stream);
void apply_keep_mask(std::span<const half_bits> in, std::span<const std::uint8_t> keep, float scale,
                     std::span<half_bits> out, cudaStream_t stream);

// Every element = value (rounded to half for half storage).
void fill(std::span<float> out, float value, cudaStream_t stream);
void fill(std::span<half_bits> out, float value, cudaStream_t stream);

}  // namespace lb::cuda
