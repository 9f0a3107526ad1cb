#include "runtime/backends/cuda/cudnn_batch_norm.hpp"

#include <stdexcept>
#include <string>

#include "runtime/backends/cuda/cuda_error.hpp"

namespace lb::cuda {
namespace {

constexpr cudnnBatchNormMode_t kMode = CUDNN_BATCHNORM_SPATIAL;

}  // namespace

CudnnBatchNorm::CudnnBatchNorm(CudnnHandle& handle, const Nchw& shape, DataType type,
                               double epsilon)
    : handle_(handle), shape_(shape), type_(type), epsilon_(epsilon), x_desc_(shape, type) {
  if (epsilon < CUDNN_BN_MIN_EPSILON) {
    throw std::invalid_argument("CudnnBatchNorm: epsilon below CUDNN_BN_MIN_EPSILON");
  }
  LB_CUDA_CHECK(cudnnCreateTensorDescriptor(&param_desc_));
  LB_CUDA_CHECK(cudnnDeriveBNTensorDescriptor(param_desc_, x_desc_.get(), kMode));
}

CudnnBatchNorm::~CudnnBatchNorm() { cudnnDestroyTensorDescriptor(param_desc_); }

void CudnnBatchNorm::require_channels(std::size_t count, const char* what) const {
  if (count != static_cast<std::size_t>(shape_.c)) {
    throw std::invalid_argument(std::string("CudnnBatchNorm: ") + what + " must have " +
                                std::to_string(shape_.c) + " elements");
  }
}

void CudnnBatchNorm::forward_training(ConstDeviceTensor x, DeviceTensor y, BatchNormParams p,
                                      double momentum, BatchNormRunning running,
                                      BatchNormSaved saved) {
  require(x, shape_, type_, "batch norm x");
  require(y, shape_, type_, "batch norm y");
  for (std::size_t n : {p.gamma.size(), p.beta.size(), running.mean.size(), running.var.size(),
                        saved.mean.size(), saved.inv_std.size()}) {
    require_channels(n, "every per-channel vector");
  }
  const float one = 1.0f, zero = 0.0f;
  LB_CUDA_CHECK(cudnnBatchNormalizationForwardTraining(
      handle_.get(), kMode, &one, &zero, x_desc_.get(), x.data, x_desc_.get(), y.data, param_desc_,
      p.gamma.data(), p.beta.data(), momentum, running.mean.data(), running.var.data(), epsilon_,
      saved.mean.data(), saved.inv_std.data()));
}

void CudnnBatchNorm::forward_inference(ConstDeviceTensor x, DeviceTensor y, BatchNormParams p,
                                       BatchNormRunning running) {
  require(x, shape_, type_, "batch norm x");
  require(y, shape_, type_, "batch norm y");
  for (std::size_t n : {p.gamma.size(), p.beta.size(), running.mean.size(), running.var.size()}) {
    require_channels(n, "every per-channel vector");
  }
  const float one = 1.0f, zero = 0.0f;
  LB_CUDA_CHECK(cudnnBatchNormalizationForwardInference(
      handle_.get(), kMode, &one, &zero, x_desc_.get(), x.data, x_desc_.get(), y.data, param_desc_,
      p.gamma.data(), p.beta.data(), running.mean.data(), running.var.data(), epsilon_));
}

void CudnnBatchNorm::backward(ConstDeviceTensor x, ConstDeviceTensor dy, DeviceTensor dx,
                              BatchNormParams p, BatchNormSaved saved, BatchNormGrads grads) {
  require(x, shape_, type_, "batch norm x");
  require(dy, shape_, type_, "batch norm dy");
  require(dx, shape_, type_, "batch norm dx");
  for (std::size_t n : {p.gamma.size(), saved.mean.size(), saved.inv_std.size(), grads.gamma.size(),
                        grads.beta.size()}) {
    require_channels(n, "every per-channel vector");
  }
  const float one = 1.0f, zero = 0.0f;
  LB_CUDA_CHECK(cudnnBatchNormalizationBackward(
      handle_.get(), kMode, &one, &zero, &one, &zero, x_desc_.get(), x.data, x_desc_.get(), dy.data,
      x_desc_.get(), dx.data, param_desc_, p.gamma.data(), grads.gamma.data(), grads.beta.data(),
      epsilon_, saved.mean.data(), saved.inv_std.data()));
}

}  // namespace lb::cuda
