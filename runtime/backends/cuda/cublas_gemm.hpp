#pragma once
// GEMM through cuBLAS on row-major matrices, as the CPU's Linear layer
// stores them:  C (m, n) = alpha * op(A) (m, k) * op(B) (k, n) + beta * C.
// fp16 inputs accumulate in fp32 on tensor cores (cublasGemmEx,
// CUBLAS_COMPUTE_32F); fp32 inputs run in plain fp32 (no TF32), so fp32
// results stay comparable with the CPU's. Spans are device memory.
#include <cublas_v2.h>

#include <cstdint>
#include <span>

#include "runtime/core/half.hpp"

namespace lb::cuda {

// A cuBLAS handle bound to one stream (and the current device).
class CublasHandle {
 public:
  explicit CublasHandle(cudaStream_t stream);
  ~CublasHandle();
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;
  cublasHandle_t get() const { return handle_; }

 private:
  cublasHandle_t handle_ = nullptr;
};

enum class Transpose { no, yes };

struct GemmShape {
  std::int64_t m, n, k;
  Transpose a = Transpose::no;  // A is (m, k), or (k, m) when transposed
  Transpose b = Transpose::no;  // B is (k, n), or (n, k) when transposed
};

void gemm(CublasHandle& handle, const GemmShape& shape, float alpha, std::span<const float> a,
          std::span<const float> b, float beta, std::span<float> c);
void gemm(CublasHandle& handle, const GemmShape& shape, float alpha, std::span<const half_bits> a,
          std::span<const half_bits> b, float beta, std::span<half_bits> c);
// fp16 inputs, fp32 output: for gradients accumulated into fp32 buffers.
void gemm(CublasHandle& handle, const GemmShape& shape, float alpha, std::span<const half_bits> a,
          std::span<const half_bits> b, float beta, std::span<float> c);

}  // namespace lb::cuda
