#include "runtime/backends/cuda/cudnn_activation.hpp"

#include "runtime/backends/cuda/cuda_error.hpp"

namespace lb::cuda {

CudnnRelu::CudnnRelu(CudnnHandle& handle, const Nchw& shape, DataType type)
    : handle_(handle), shape_(shape), type_(type), desc_(shape, type) {
  LB_CUDA_CHECK(cudnnCreateActivationDescriptor(&activation_));
  LB_CUDA_CHECK(
      cudnnSetActivationDescriptor(activation_, CUDNN_ACTIVATION_RELU, CUDNN_PROPAGATE_NAN, 0.0));
}

CudnnRelu::~CudnnRelu() { cudnnDestroyActivationDescriptor(activation_); }

void CudnnRelu::forward(ConstDeviceTensor x, DeviceTensor y) {
  require(x, shape_, type_, "relu x");
  require(y, shape_, type_, "relu y");
  const float one = 1.0f, zero = 0.0f;
  LB_CUDA_CHECK(cudnnActivationForward(handle_.get(), activation_, &one, desc_.get(), x.data, &zero,
                                       desc_.get(), y.data));
}

void CudnnRelu::backward(ConstDeviceTensor x, ConstDeviceTensor y, ConstDeviceTensor dy,
                         DeviceTensor dx) {
  require(x, shape_, type_, "relu x");
  require(y, shape_, type_, "relu y");
  require(dy, shape_, type_, "relu dy");
  require(dx, shape_, type_, "relu dx");
  const float one = 1.0f, zero = 0.0f;
  LB_CUDA_CHECK(cudnnActivationBackward(handle_.get(), activation_, &one, desc_.get(), y.data,
                                        desc_.get(), dy.data, desc_.get(), x.data, &zero,
                                        desc_.get(), dx.data));
}

}  // namespace lb::cuda
