#pragma once
// lb::Linear on cuBLAS: y (N, out) = x (N, in) Wᵀ + b with W (out, in)
// row-major as on the CPU; fp16 operands accumulate in fp32 on tensor
// cores. The bias is broadcast into y first (a k = 1 GEMM against ones) and
// the product added onto it, so an fp16 output is rounded once; its
// gradient is onesᵀ dy, another GEMM.
#include "runtime/backends/cuda/net/gpu_layer.hpp"
#include "runtime/nn/linear.hpp"

namespace lb::cuda {

class GpuLinear final : public GpuLayer {
 public:
  GpuLinear(const Linear& source, const GpuRuntime& runtime);
  std::vector<GpuParam*> params() override;

 protected:
  const GpuTensor& forward_impl(const GpuTensor& x, const GpuPass& pass) override;
  const GpuTensor& backward_impl(const GpuTensor& dy, const GpuPass& pass) override;

 private:
  const GpuTensor& ones(std::int64_t rows);  // (rows) ones of the storage type

  const Linear& linear_;
  GpuParam weight_, bias_;
  GpuStorage ones_storage_;
  GpuTensor ones_;
  GpuTensor x_;  // the last forward's input, alive until backward
  GpuStorage y_storage_;
  GpuTensor y_;
};

}  // namespace lb::cuda
