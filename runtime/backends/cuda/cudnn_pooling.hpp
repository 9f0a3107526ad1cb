#pragma once
// 2-D pooling on cuDNN with the CPU layers' conventions (runtime/nn/pool2d.hpp):
// square window, equal stride and padding on both axes, floor rounding; max
// pooling never picks padding, average pooling averages only the covered
// input elements (PyTorch's count_include_pad=False).
#include <cudnn.h>

#include <memory>

#include "runtime/backends/cuda/cudnn_tensors.hpp"

namespace lb::cuda {

enum class PoolMode { max, average };

struct PoolGeometry {
  Nchw input;
  int kernel;
  int stride;
  int padding = 0;
};

class CudnnPooling {
 public:
  CudnnPooling(CudnnHandle& handle, const PoolGeometry& geometry, PoolMode mode, DataType type);
  ~CudnnPooling();
  CudnnPooling(const CudnnPooling&) = delete;
  CudnnPooling& operator=(const CudnnPooling&) = delete;

  const Nchw& output_shape() const { return output_; }
  void forward(ConstDeviceTensor x, DeviceTensor y);
  // Max pooling finds the window's maximum again in x, so backward needs x and y.
  void backward(ConstDeviceTensor x, ConstDeviceTensor y, ConstDeviceTensor dy, DeviceTensor dx);

 private:
  CudnnHandle& handle_;
  DataType type_;
  Nchw input_, output_;
  cudnnPoolingDescriptor_t pool_desc_ = nullptr;
  TensorDescriptor x_desc_;
  std::unique_ptr<TensorDescriptor> y_desc_;
};

}  // namespace lb::cuda
