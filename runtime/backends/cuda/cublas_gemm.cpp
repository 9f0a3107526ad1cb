#include "runtime/backends/cuda/cublas_gemm.hpp"

#include <climits>
#include <stdexcept>

#include "runtime/backends/cuda/cuda_error.hpp"

namespace lb::cuda {
namespace {

int as_int(std::int64_t v) {
  if (v < 0 || v > INT_MAX) throw std::invalid_argument("cuda::gemm: dimension out of range");
  return static_cast<int>(v);
}

cublasOperation_t op(Transpose t) { return t == Transpose::yes ? CUBLAS_OP_T : CUBLAS_OP_N; }

struct Operands {
  const void* a;
  const void* b;
  void* c;
  cudaDataType_t input;
  cudaDataType_t output;
};

void check_sizes(const GemmShape& s, std::size_t a, std::size_t b, std::size_t c) {
  if (a != std::size_t(s.m * s.k) || b != std::size_t(s.k * s.n) || c != std::size_t(s.m * s.n)) {
    throw std::invalid_argument("cuda::gemm: span sizes do not match the shape");
  }
}

// cuBLAS is column-major: a row-major (r, c) matrix is its column-major
// (c, r) transpose. So row-major C = op(A) op(B) is column-major
// C^T = op(B)^T op(A)^T: swap the operands and m with n, keep the ops.
void gemm_row_major(CublasHandle& handle, const GemmShape& s, float alpha, float beta,
                    const Operands& x) {
  const int m = as_int(s.m), n = as_int(s.n), k = as_int(s.k);
  if (m == 0 || n == 0) return;
  const int lda = s.a == Transpose::no ? k : m;  // row length of A as stored
  const int ldb = s.b == Transpose::no ? n : k;
  const cublasComputeType_t compute =
      x.input == CUDA_R_16F ? CUBLAS_COMPUTE_32F : CUBLAS_COMPUTE_32F_PEDANTIC;
  LB_CUDA_CHECK(cublasGemmEx(handle.get(), op(s.b), op(s.a), n, m, k, &alpha, x.b, x.input, ldb,
                             x.a, x.input, lda, &beta, x.c, x.output, n, compute,
                             CUBLAS_GEMM_DEFAULT));
}

}  // namespace

CublasHandle::CublasHandle(cudaStream_t stream) {
  LB_CUDA_CHECK(cublasCreate(&handle_));
  LB_CUDA_CHECK(cublasSetStream(handle_, stream));
}

CublasHandle::~CublasHandle() { cublasDestroy(handle_); }  // must not throw

void gemm(CublasHandle& handle, const GemmShape& shape, float alpha, std::span<const float> a,
          std::span<const float> b, float beta, std::span<float> c) {
  check_sizes(shape, a.size(), b.size(), c.size());
  gemm_row_major(handle, shape, alpha, beta,
                 {a.data(), b.data(), c.data(), CUDA_R_32F, CUDA_R_32F});
}

void gemm(CublasHandle& handle, const GemmShape& shape, float alpha, std::span<const half_bits> a,
          std::span<const half_bits> b, float beta, std::span<half_bits> c) {
  check_sizes(shape, a.size(), b.size(), c.size());
  gemm_row_major(handle, shape, alpha, beta,
                 {a.data(), b.data(), c.data(), CUDA_R_16F, CUDA_R_16F});
}

void gemm(CublasHandle& handle, const GemmShape& shape, float alpha, std::span<const half_bits> a,
          std::span<const half_bits> b, float beta, std::span<float> c) {
  check_sizes(shape, a.size(), b.size(), c.size());
  gemm_row_major(handle, shape, alpha, beta,
                 {a.data(), b.data(), c.data(), CUDA_R_16F, CUDA_R_32F});
}

}  // namespace lb::cuda
