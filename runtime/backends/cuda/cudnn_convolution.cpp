#include "runtime/backends/cuda/cudnn_convolution.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "runtime/backends/cuda/cuda_error.hpp"

namespace lb::cuda {
namespace {

constexpr int kCandidates = 16;  // more than cuDNN has algorithms of any kind

// The first usable candidate in cuDNN's ranking (fastest first), preferring
// deterministic algorithms: the runtime's runs are meant to be repeatable
// bit for bit, and some backward algorithms add with atomics.
template <class Perf>
decltype(Perf::algo) pick(const Perf* perfs, int count, const char* what) {
  for (int i = 0; i < count; ++i) {
    if (perfs[i].status == CUDNN_STATUS_SUCCESS && perfs[i].determinism == CUDNN_DETERMINISTIC) {
      return perfs[i].algo;
    }
  }
  for (int i = 0; i < count; ++i) {
    if (perfs[i].status == CUDNN_STATUS_SUCCESS) return perfs[i].algo;
  }
  throw std::runtime_error(std::string("cuDNN: no usable algorithm for ") + what);
}

Nchw filter_of(const ConvGeometry& g) {
  return {g.out_channels, g.input.c / g.groups, g.kernel_h, g.kernel_w};
}

}  // namespace

CudnnConvolution::CudnnConvolution(CudnnHandle& handle, const ConvGeometry& g, DataType type,
                                   CachingAllocator& allocator, AlgoSearch search)
    : handle_(handle),
      type_(type),
      input_(g.input),
      filter_(filter_of(g)),
      x_desc_(g.input, type),
      w_desc_(filter_, type) {
  if (g.groups < 1 || g.input.c % g.groups != 0 || g.out_channels % g.groups != 0) {
    throw std::invalid_argument("CudnnConvolution: groups must divide both channel counts");
  }
  LB_CUDA_CHECK(cudnnCreateConvolutionDescriptor(&conv_desc_));
  LB_CUDA_CHECK(cudnnSetConvolution2dDescriptor(conv_desc_, g.padding, g.padding, g.stride,
                                                g.stride, g.dilation, g.dilation,
                                                CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  LB_CUDA_CHECK(cudnnSetConvolutionGroupCount(conv_desc_, g.groups));
  // Tensor cores for fp16; for fp32, FMA math keeps TF32 out.
  LB_CUDA_CHECK(cudnnSetConvolutionMathType(
      conv_desc_, type == DataType::fp16 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));
  int n = 0, c = 0, h = 0, w = 0;
  LB_CUDA_CHECK(cudnnGetConvolution2dForwardOutputDim(conv_desc_, x_desc_.get(), w_desc_.get(), &n,
                                                      &c, &h, &w));
  output_ = {n, c, h, w};
  y_desc_ = std::make_unique<TensorDescriptor>(output_, type);
  choose_algorithms(search);
  allocate_workspace(allocator);
}

CudnnConvolution::~CudnnConvolution() { cudnnDestroyConvolutionDescriptor(conv_desc_); }

void CudnnConvolution::choose_algorithms(AlgoSearch search) {
  const cudnnHandle_t h = handle_.get();
  const auto x = x_desc_.get();
  const auto w = w_desc_.get();
  const auto y = y_desc_->get();
  int count = 0;
  cudnnConvolutionFwdAlgoPerf_t fwd[kCandidates];
  cudnnConvolutionBwdDataAlgoPerf_t data[kCandidates];
  cudnnConvolutionBwdFilterAlgoPerf_t filter[kCandidates];
  if (search == AlgoSearch::benchmark) {
    LB_CUDA_CHECK(
        cudnnFindConvolutionForwardAlgorithm(h, x, w, conv_desc_, y, kCandidates, &count, fwd));
    fwd_ = pick(fwd, count, "forward");
    LB_CUDA_CHECK(cudnnFindConvolutionBackwardDataAlgorithm(h, w, y, conv_desc_, x, kCandidates,
                                                            &count, data));
    bwd_data_ = pick(data, count, "backward data");
    LB_CUDA_CHECK(cudnnFindConvolutionBackwardFilterAlgorithm(h, x, y, conv_desc_, w, kCandidates,
                                                              &count, filter));
    bwd_filter_ = pick(filter, count, "backward filter");
    return;
  }
  LB_CUDA_CHECK(
      cudnnGetConvolutionForwardAlgorithm_v7(h, x, w, conv_desc_, y, kCandidates, &count, fwd));
  fwd_ = pick(fwd, count, "forward");
  LB_CUDA_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, w, y, conv_desc_, x, kCandidates,
                                                            &count, data));
  bwd_data_ = pick(data, count, "backward data");
  LB_CUDA_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, x, y, conv_desc_, w, kCandidates,
                                                              &count, filter));
  bwd_filter_ = pick(filter, count, "backward filter");
}

void CudnnConvolution::allocate_workspace(CachingAllocator& allocator) {
  const cudnnHandle_t h = handle_.get();
  std::size_t fwd = 0, data = 0, filter = 0;
  LB_CUDA_CHECK(cudnnGetConvolutionForwardWorkspaceSize(h, x_desc_.get(), w_desc_.get(), conv_desc_,
                                                        y_desc_->get(), fwd_, &fwd));
  LB_CUDA_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(
      h, w_desc_.get(), y_desc_->get(), conv_desc_, x_desc_.get(), bwd_data_, &data));
  LB_CUDA_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(
      h, x_desc_.get(), y_desc_->get(), conv_desc_, w_desc_.get(), bwd_filter_, &filter));
  workspace_ = DeviceBuffer<std::byte>(allocator, std::max({fwd, data, filter}));
}

std::string CudnnConvolution::algorithms() const {
  return "fwd " + std::to_string(int(fwd_)) + " bwd-data " + std::to_string(int(bwd_data_)) +
         " bwd-filter " + std::to_string(int(bwd_filter_));
}

void CudnnConvolution::forward(ConstDeviceTensor x, ConstDeviceTensor w, DeviceTensor y,
                               float beta) {
  require(x, input_, type_, "convolution forward x");
  require(w, filter_, type_, "convolution forward w");
  require(y, output_, type_, "convolution forward y");
  const float alpha = 1.0f;
  LB_CUDA_CHECK(cudnnConvolutionForward(handle_.get(), &alpha, x_desc_.get(), x.data, w_desc_.get(),
                                        w.data, conv_desc_, fwd_, workspace_.data(),
                                        workspace_.size(), &beta, y_desc_->get(), y.data));
}

void CudnnConvolution::backward_data(ConstDeviceTensor dy, ConstDeviceTensor w, DeviceTensor dx,
                                     float beta) {
  require(dy, output_, type_, "convolution backward-data dy");
  require(w, filter_, type_, "convolution backward-data w");
  require(dx, input_, type_, "convolution backward-data dx");
  const float alpha = 1.0f;
  LB_CUDA_CHECK(cudnnConvolutionBackwardData(
      handle_.get(), &alpha, w_desc_.get(), w.data, y_desc_->get(), dy.data, conv_desc_, bwd_data_,
      workspace_.data(), workspace_.size(), &beta, x_desc_.get(), dx.data));
}

void CudnnConvolution::backward_filter(ConstDeviceTensor x, ConstDeviceTensor dy, DeviceTensor dw,
                                       float beta) {
  require(x, input_, type_, "convolution backward-filter x");
  require(dy, output_, type_, "convolution backward-filter dy");
  require(dw, filter_, type_, "convolution backward-filter dw");
  const float alpha = 1.0f;
  LB_CUDA_CHECK(cudnnConvolutionBackwardFilter(
      handle_.get(), &alpha, x_desc_.get(), x.data, y_desc_->get(), dy.data, conv_desc_,
      bwd_filter_, workspace_.data(), workspace_.size(), &beta, w_desc_.get(), dw.data));
}

}  // namespace lb::cuda
