#pragma once
// lb::Conv2d on cuDNN (CudnnConvolution): one plan per input shape (the
// training and evaluation batches differ), the algorithms picked by cuDNN's
// heuristics, preferring deterministic ones. A bias (AlexNet's) is written
// into the output first and the convolution added onto it, so fp16 outputs
// are rounded once, as the CPU rounds them.
#include <array>
#include <map>
#include <memory>

#include "runtime/backends/cuda/cudnn_convolution.hpp"
#include "runtime/backends/cuda/net/gpu_layer.hpp"
#include "runtime/nn/conv2d.hpp"

namespace lb::cuda {

class GpuConv2d final : public GpuLayer {
 public:
  GpuConv2d(const Conv2d& source, const GpuRuntime& runtime);
  ~GpuConv2d() override;
  std::vector<GpuParam*> params() override;

 protected:
  const GpuTensor& forward_impl(const GpuTensor& x, const GpuPass& pass) override;
  const GpuTensor& backward_impl(const GpuTensor& dy, const GpuPass& pass) override;

 private:
  CudnnConvolution& plan_for(const Nchw& input);
  void add_bias(const GpuTensor& y);
  void bias_gradient(const GpuTensor& dy);

  const Conv2d& conv_;
  GpuParam weight_, bias_;
  std::map<std::array<std::int64_t, 4>, std::unique_ptr<CudnnConvolution>> plans_;
  CudnnConvolution* current_ = nullptr;          // the plan of the last forward
  std::unique_ptr<TensorDescriptor> bias_desc_;  // (1, K, 1, 1)
  GpuTensor x_;  // the last forward's input: the previous layer's output, alive until backward
  GpuStorage y_storage_;
  GpuTensor y_;
};

}  // namespace lb::cuda
