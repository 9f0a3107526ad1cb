#pragma once
// Fused loss-scale removal and inf/NaN check over a list of gradient
// tensors: out = grad * grad_scale (grad_scale = 1 / loss scale), and
// found_inf[0] = 1 when any input value is inf or NaN (checked before
// unscaling, as the CPU's all_finite does), else 0. One memset and one
// launch per kMaxTensorsPerUnscale tensors; nothing waits on the host, and
// found_inf can gate the optimizer step on the device (CudaLarsOptimizer's
// `skip`). All spans are device memory; out[i] may alias a float grads[i].
#include <cuda_runtime_api.h>

#include <span>

#include "runtime/core/half.hpp"

namespace lb::cuda {

inline constexpr int kMaxTensorsPerUnscale = 512;

void unscale_and_check(std::span<const std::span<const float>> grads,
                       std::span<const std::span<float>> out, float grad_scale,
                       std::span<int> found_inf, cudaStream_t stream);
void unscale_and_check(std::span<const std::span<const half_bits>> grads,
                       std::span<const std::span<float>> out, float grad_scale,
                       std::span<int> found_inf, cudaStream_t stream);

}  // namespace lb::cuda
