#include "runtime/backends/cuda/cudnn_pooling.hpp"

#include "runtime/backends/cuda/cuda_error.hpp"

namespace lb::cuda {
namespace {

cudnnPoolingMode_t cudnn_mode(PoolMode mode) {
  return mode == PoolMode::max ? CUDNN_POOLING_MAX_DETERMINISTIC
                               : CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
}

}  // namespace

CudnnPooling::CudnnPooling(CudnnHandle& handle, const PoolGeometry& g, PoolMode mode, DataType type)
    : handle_(handle), type_(type), input_(g.input), x_desc_(g.input, type) {
  LB_CUDA_CHECK(cudnnCreatePoolingDescriptor(&pool_desc_));
  LB_CUDA_CHECK(cudnnSetPooling2dDescriptor(pool_desc_, cudnn_mode(mode), CUDNN_PROPAGATE_NAN,
                                            g.kernel, g.kernel, g.padding, g.padding, g.stride,
                                            g.stride));
  int n = 0, c = 0, h = 0, w = 0;
  LB_CUDA_CHECK(cudnnGetPooling2dForwardOutputDim(pool_desc_, x_desc_.get(), &n, &c, &h, &w));
  output_ = {n, c, h, w};
  y_desc_ = std::make_unique<TensorDescriptor>(output_, type);
}

CudnnPooling::~CudnnPooling() { cudnnDestroyPoolingDescriptor(pool_desc_); }

void CudnnPooling::forward(ConstDeviceTensor x, DeviceTensor y) {
  require(x, input_, type_, "pooling x");
  require(y, output_, type_, "pooling y");
  const float one = 1.0f, zero = 0.0f;
  LB_CUDA_CHECK(cudnnPoolingForward(handle_.get(), pool_desc_, &one, x_desc_.get(), x.data, &zero,
                                    y_desc_->get(), y.data));
}

void CudnnPooling::backward(ConstDeviceTensor x, ConstDeviceTensor y, ConstDeviceTensor dy,
                            DeviceTensor dx) {
  require(x, input_, type_, "pooling x");
  require(y, output_, type_, "pooling y");
  require(dy, output_, type_, "pooling dy");
  require(dx, input_, type_, "pooling dx");
  const float one = 1.0f, zero = 0.0f;
  LB_CUDA_CHECK(cudnnPoolingBackward(handle_.get(), pool_desc_, &one, y_desc_->get(), y.data,
                                     y_desc_->get(), dy.data, x_desc_.get(), x.data, &zero,
                                     x_desc_.get(), dx.data));
}

}  // namespace lb::cuda
