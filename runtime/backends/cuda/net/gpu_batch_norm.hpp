#pragma once
// lb::BatchNorm on cuDNN (CudnnBatchNorm, spatial mode; a 2-D (N, C) input
// is (N, C, 1, 1)) with the CPU layer's conventions: γ, β, the running and
// the saved statistics are fp32; running = (1 - m) * running + m * batch
// with the unbiased variance. A fused ReLU (the zoo's conv-BN-ReLU) runs
// after cuDNN in place, and its mask is applied to the gradient before
// cuDNN's backward. Precise-BatchNorm recalibration gives the k-th batch the
// factor 1/k, a plain average, as the CPU does.
#include <array>
#include <map>
#include <memory>

#include "runtime/backends/cuda/cudnn_batch_norm.hpp"
#include "runtime/backends/cuda/net/gpu_layer.hpp"
#include "runtime/nn/batch_norm.hpp"

namespace lb::cuda {

class GpuBatchNorm final : public GpuLayer {
 public:
  GpuBatchNorm(const BatchNorm& source, const GpuRuntime& runtime);
  ~GpuBatchNorm() override;
  std::vector<GpuParam*> params() override { return {&gamma_, &beta_}; }
  std::vector<GpuBuffer*> buffers() override { return {&running_mean_, &running_var_}; }
  void begin_recalibration() {
    recalibrating_ = true;
    recalibration_batches_ = 0;
  }
  void end_recalibration() { recalibrating_ = false; }

 protected:
  const GpuTensor& forward_impl(const GpuTensor& x, const GpuPass& pass) override;
  const GpuTensor& backward_impl(const GpuTensor& dy, const GpuPass& pass) override;

 private:
  CudnnBatchNorm& plan_for(const Nchw& shape);
  double average_factor();

  const BatchNorm& bn_;
  GpuParam gamma_, beta_;
  GpuBuffer running_mean_, running_var_;
  DeviceBuffer<float> saved_mean_, saved_inv_std_;  // (C) of the last training forward
  std::map<std::array<std::int64_t, 4>, std::unique_ptr<CudnnBatchNorm>> plans_;
  CudnnBatchNorm* current_ = nullptr;
  bool last_training_ = false;
  bool recalibrating_ = false;
  std::int64_t recalibration_batches_ = 0;
  GpuTensor x_;  // the last forward's input, alive until backward
  GpuStorage y_storage_, masked_storage_;
  GpuTensor y_;
};

}  // namespace lb::cuda
