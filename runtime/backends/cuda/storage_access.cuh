#pragma once
// Element access for the kernels' two storage types: float as is, half_bits
// through __half, computed in float. Shared by elementwise.cu and
// layer_kernels.cu.
#include <cuda_fp16.h>

#include <cstdint>

#include "runtime/core/half.hpp"

namespace lb::cuda {

__device__ inline float load(const float* p, std::int64_t i) { return p[i]; }
__device__ inline float load(const half_bits* p, std::int64_t i) {
  return __half2float(reinterpret_cast<const __half*>(p)[i]);
}
__device__ inline void store(float* p, std::int64_t i, float v) { p[i] = v; }
__device__ inline void store(half_bits* p, std::int64_t i, float v) {
  reinterpret_cast<__half*>(p)[i] = __float2half_rn(v);
}

}  // namespace lb::cuda
