#pragma once
// lb::Sequential: a chain of GPU layers; wires outputs and gradients
// together and gives each input gradient back once the layer before has
// consumed it (as the CPU chain does with the GradientPool).
#include <memory>
#include <vector>

#include "runtime/backends/cuda/net/gpu_layer.hpp"

namespace lb::cuda {

class GpuSequential final : public GpuLayer {
 public:
  GpuSequential(const Layer& source, const GpuRuntime& runtime) : GpuLayer(source, runtime) {}
  void add(std::unique_ptr<GpuLayer> child) { children_.push_back(std::move(child)); }

  bool is_composite() const override { return true; }
  std::vector<GpuParam*> params() override;
  std::vector<GpuBuffer*> buffers() override;
  void for_each_leaf(const std::function<void(GpuLayer&)>& fn) override;
  void release_input_grad() override;  // the first child's

 protected:
  const GpuTensor& forward_impl(const GpuTensor& x, const GpuPass& pass) override;
  const GpuTensor& backward_impl(const GpuTensor& dy, const GpuPass& pass) override;

 private:
  std::vector<std::unique_ptr<GpuLayer>> children_;
  GpuTensor passthrough_;  // output and gradient of an empty chain
};

}  // namespace lb::cuda
