#pragma once
// lb::ReLU: y = max(x, 0) with NaN kept, backward masked by y > 0.
#include "runtime/backends/cuda/net/gpu_layer.hpp"

namespace lb::cuda {

class GpuRelu final : public GpuLayer {
 public:
  GpuRelu(const Layer& source, const GpuRuntime& runtime) : GpuLayer(source, runtime) {}

 protected:
  const GpuTensor& forward_impl(const GpuTensor& x, const GpuPass& pass) override;
  const GpuTensor& backward_impl(const GpuTensor& dy, const GpuPass& pass) override;

 private:
  GpuStorage y_storage_;
  GpuTensor y_;
};

}  // namespace lb::cuda
