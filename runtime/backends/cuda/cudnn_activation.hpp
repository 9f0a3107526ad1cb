#pragma once
// ReLU on cuDNN, for fusing with other cuDNN calls later. NaN propagates
// (CUDNN_PROPAGATE_NAN), as the CPU's ReLU and elementwise.hpp's kernels
// keep it for the loss scaler to see.
#include <cudnn.h>

#include "runtime/backends/cuda/cudnn_tensors.hpp"

namespace lb::cuda {

class CudnnRelu {
 public:
  CudnnRelu(CudnnHandle& handle, const Nchw& shape, DataType type);
  ~CudnnRelu();
  CudnnRelu(const CudnnRelu&) = delete;
  CudnnRelu& operator=(const CudnnRelu&) = delete;

  void forward(ConstDeviceTensor x, DeviceTensor y);
  void backward(ConstDeviceTensor x, ConstDeviceTensor y, ConstDeviceTensor dy, DeviceTensor dx);

 private:
  CudnnHandle& handle_;
  Nchw shape_;
  DataType type_;
  TensorDescriptor desc_;
  cudnnActivationDescriptor_t activation_ = nullptr;
};

}  // namespace lb::cuda
