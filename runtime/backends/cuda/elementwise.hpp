#pragma once
// Element-wise kernels: fp32 <-> fp16 casts, add, ReLU forward and backward.
// Spans are device memory; every call enqueues on `stream` and returns. Half
// values are binary16 bit patterns (lb::half_bits, as on the CPU); the
// arithmetic is fp32, rounded to half on store (round-to-nearest-even), as
// the CPU's fp16 mode does. The per-element formulas are in
// runtime/core/elementwise_math.hpp.
#include <cuda_runtime_api.h>

#include <span>

#include "runtime/core/half.hpp"

namespace lb::cuda {

void to_half(std::span<const float> in, std::span<half_bits> out, cudaStream_t stream);
void from_half(std::span<const half_bits> in, std::span<float> out, cudaStream_t stream);

// out = a + b (out may be a or b).
void add(std::span<const float> a, std::span<const float> b, std::span<float> out,
         cudaStream_t stream);
void add(std::span<const half_bits> a, std::span<const half_bits> b, std::span<half_bits> out,
         cudaStream_t stream);

// y = max(x, 0), NaN kept (y may be x).
void relu_forward(std::span<const float> x, std::span<float> y, cudaStream_t stream);
void relu_forward(std::span<const half_bits> x, std::span<half_bits> y, cudaStream_t stream);

// dx = dy where the forward output y > 0, else 0 (dx may be dy).
void relu_backward(std::span<const float> y, std::span<const float> dy, std::span<float> dx,
                   cudaStream_t stream);
void relu_backward(std::span<const half_bits> y, std::span<const half_bits> dy,
                   std::span<half_bits> dx, cudaStream_t stream);

}  // namespace lb::cuda
