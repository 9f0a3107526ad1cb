#pragma once
// 2-D convolution on cuDNN: forward, backward data and backward filter, each
// with its algorithm chosen once at construction (cuDNN's heuristics, or by
// running the candidates) and one workspace for all three from the caching
// allocator. fp16 tensors run on tensor cores with fp32 accumulation; fp32
// tensors in plain fp32 (no TF32), comparable with the CPU's.
#include <cudnn.h>

#include <cstddef>
#include <memory>
#include <string>

#include "runtime/backends/cuda/caching_allocator.hpp"
#include "runtime/backends/cuda/cudnn_tensors.hpp"
#include "runtime/backends/cuda/device_buffer.hpp"

namespace lb::cuda {

struct ConvGeometry {
  Nchw input;        // (N, C, H, W)
  int out_channels;  // K
  int kernel_h, kernel_w;
  int stride = 1;
  int padding = 0;
  int dilation = 1;
  int groups = 1;
};

enum class AlgoSearch {
  heuristic,  // cuDNN's ranking without running anything: fast to construct
  benchmark,  // cudnnFind*: runs every candidate once and takes the fastest
};

class CudnnConvolution {
 public:
  CudnnConvolution(CudnnHandle& handle, const ConvGeometry& geometry, DataType type,
                   CachingAllocator& allocator, AlgoSearch search = AlgoSearch::heuristic);
  ~CudnnConvolution();
  CudnnConvolution(const CudnnConvolution&) = delete;
  CudnnConvolution& operator=(const CudnnConvolution&) = delete;

  const Nchw& output_shape() const { return output_; }  // (N, K, P, Q)
  const Nchw& filter_shape() const { return filter_; }  // (K, C / groups, R, S)
  std::size_t workspace_bytes() const { return workspace_.size(); }
  // The chosen algorithms, e.g. "fwd 1 bwd-data 1 bwd-filter 1", for logs.
  std::string algorithms() const;

  // y = conv(x, w) + beta * y
  void forward(ConstDeviceTensor x, ConstDeviceTensor w, DeviceTensor y, float beta = 0.0f);
  // dx = conv^T(dy, w) + beta * dx
  void backward_data(ConstDeviceTensor dy, ConstDeviceTensor w, DeviceTensor dx, float beta = 0.0f);
  // dw = corr(x, dy) + beta * dw (beta = 1 accumulates over micro-batches)
  void backward_filter(ConstDeviceTensor x, ConstDeviceTensor dy, DeviceTensor dw,
                       float beta = 0.0f);

 private:
  void choose_algorithms(AlgoSearch search);
  void allocate_workspace(CachingAllocator& allocator);

  CudnnHandle& handle_;
  DataType type_;
  Nchw input_, filter_, output_;
  TensorDescriptor x_desc_;
  FilterDescriptor w_desc_;
  cudnnConvolutionDescriptor_t conv_desc_ = nullptr;
  std::unique_ptr<TensorDescriptor> y_desc_;  // known once the output shape is
  cudnnConvolutionFwdAlgo_t fwd_{};
  cudnnConvolutionBwdDataAlgo_t bwd_data_{};
  cudnnConvolutionBwdFilterAlgo_t bwd_filter_{};
  DeviceBuffer<std::byte> workspace_;
};

}  // namespace lb::cuda
