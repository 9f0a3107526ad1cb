#pragma once
// lb::Flatten: (N, d1, d2, ...) -> (N, d1*d2*...). NCHW tensors are already
// in flattened order, so forward returns a view of its input. Backward
// copies: its input gradient must not be a view of the next layer's, which
// the container frees as soon as this layer has returned.
#include "runtime/backends/cuda/net/gpu_layer.hpp"

namespace lb::cuda {

class GpuFlatten final : public GpuLayer {
 public:
  GpuFlatten(const Layer& source, const GpuRuntime& runtime) : GpuLayer(source, runtime) {}

 protected:
  const GpuTensor& forward_impl(const GpuTensor& x, const GpuPass& pass) override;
  const GpuTensor& backward_impl(const GpuTensor& dy, const GpuPass& pass) override;

 private:
  Shape input_shape_;
  GpuTensor y_;
};

}  // namespace lb::cuda
