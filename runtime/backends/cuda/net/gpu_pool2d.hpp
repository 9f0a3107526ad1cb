#pragma once
// lb::MaxPool2d, lb::AvgPool2d and lb::GlobalAvgPool on cuDNN pooling, one
// plan per input shape. Global average pooling is average pooling with the
// whole (square) plane as its window.
#include <array>
#include <map>
#include <memory>

#include "runtime/backends/cuda/cudnn_pooling.hpp"
#include "runtime/backends/cuda/net/gpu_layer.hpp"

namespace lb::cuda {

struct PoolWindow {
  PoolMode mode;
  int kernel = 0;  // 0: the whole plane (global pooling)
  int stride = 0;
  int padding = 0;
};

class GpuPool2d final : public GpuLayer {
 public:
  GpuPool2d(const Layer& source, PoolWindow window, const GpuRuntime& runtime);
  ~GpuPool2d() override;

 protected:
  const GpuTensor& forward_impl(const GpuTensor& x, const GpuPass& pass) override;
  const GpuTensor& backward_impl(const GpuTensor& dy, const GpuPass& pass) override;

 private:
  CudnnPooling& plan_for(const Nchw& input);

  PoolWindow window_;
  std::map<std::array<std::int64_t, 4>, std::unique_ptr<CudnnPooling>> plans_;
  CudnnPooling* current_ = nullptr;
  GpuTensor x_;  // the last forward's input, alive until backward (max pooling reads it)
  GpuStorage y_storage_;
  GpuTensor y_;
};

}  // namespace lb::cuda
