#pragma once
// The backend's element-wise kernels and GEMM on GpuTensors: the storage
// type (fp32 or fp16) picks the kernel, and every operand must share it
// unless the operation converts (cast). All enqueue on `stream`.
#include <cstdint>
#include <span>

#include "runtime/backends/cuda/cublas_gemm.hpp"
#include "runtime/backends/cuda/net/gpu_tensor.hpp"

namespace lb::cuda {

void relu_forward(const GpuTensor& x, const GpuTensor& y, cudaStream_t stream);
void relu_backward(const GpuTensor& y, const GpuTensor& dy, const GpuTensor& dx,
                   cudaStream_t stream);
void add(const GpuTensor& a, const GpuTensor& b, const GpuTensor& out, cudaStream_t stream);
void add_relu(const GpuTensor& a, const GpuTensor& b, const GpuTensor& out, cudaStream_t stream);
void apply_keep_mask(const GpuTensor& in, std::span<const std::uint8_t> keep, float scale,
                     const GpuTensor& out, cudaStream_t stream);
void fill(const GpuTensor& out, float value, cudaStream_t stream);
// Element by element into `to`'s type: a copy when both types agree, else
// fp32 <-> fp16 (round to nearest even).
void cast(const GpuTensor& from, const GpuTensor& to, cudaStream_t stream);
// Row-major GEMM (cublas_gemm.hpp) with all three operands in one type.
void gemm(CublasHandle& handle, const GemmShape& shape, float alpha, const GpuTensor& a,
          const GpuTensor& b, float beta, const GpuTensor& c);

}  // namespace lb::cuda
