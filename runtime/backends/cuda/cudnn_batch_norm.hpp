#pragma once
// Spatial batch normalisation on cuDNN over (N, C, H, W), with the CPU
// layer's conventions (runtime/nn/batch_norm.hpp): γ, β and the statistics
// are fp32 also for fp16 activations; running = (1 - momentum) * running +
// momentum * batch, with the unbiased variance in the running variance.
// Training saves the batch mean and inverse standard deviation for backward.
#include <span>

#include "runtime/backends/cuda/cudnn_tensors.hpp"

namespace lb::cuda {

// The per-channel fp32 vectors of one BatchNorm layer, device memory, (C) each.
struct BatchNormParams {
  std::span<const float> gamma;
  std::span<const float> beta;
};
struct BatchNormRunning {
  std::span<float> mean;
  std::span<float> var;
};
struct BatchNormSaved {  // written by training forward, read by backward
  std::span<float> mean;
  std::span<float> inv_std;
};
struct BatchNormGrads {
  std::span<float> gamma;
  std::span<float> beta;
};

class CudnnBatchNorm {
 public:
  CudnnBatchNorm(CudnnHandle& handle, const Nchw& shape, DataType type, double epsilon);
  ~CudnnBatchNorm();
  CudnnBatchNorm(const CudnnBatchNorm&) = delete;
  CudnnBatchNorm& operator=(const CudnnBatchNorm&) = delete;

  void forward_training(ConstDeviceTensor x, DeviceTensor y, BatchNormParams params,
                        double momentum, BatchNormRunning running, BatchNormSaved saved);
  void forward_inference(ConstDeviceTensor x, DeviceTensor y, BatchNormParams params,
                         BatchNormRunning running);
  // dx, and dγ, dβ (overwritten: cuDNN's parameter-gradient beta is 0).
  void backward(ConstDeviceTensor x, ConstDeviceTensor dy, DeviceTensor dx, BatchNormParams params,
                BatchNormSaved saved, BatchNormGrads grads);

 private:
  void require_channels(std::size_t count, const char* what) const;

  CudnnHandle& handle_;
  Nchw shape_;
  DataType type_;
  double epsilon_;
  TensorDescriptor x_desc_;
  cudnnTensorDescriptor_t param_desc_ = nullptr;  // (1, C, 1, 1) fp32, derived by cuDNN
};

}  // namespace lb::cuda
