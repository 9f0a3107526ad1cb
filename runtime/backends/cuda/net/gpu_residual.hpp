#pragma once
// lb::Residual: y = relu(branch(x) + shortcut(x)), shortcut = identity when
// absent; the add and ReLU are one kernel. Its own work (the add forward,
// the ReLU mask and the sum of both paths' input gradients backward) is
// reported to the observer as the CPU block reports it: the "<name>.add" row.
#include <memory>

#include "runtime/backends/cuda/net/gpu_layer.hpp"
#include "runtime/nn/residual.hpp"

namespace lb::cuda {

class GpuResidual final : public GpuLayer {
 public:
  GpuResidual(const Residual& source, std::unique_ptr<GpuLayer> branch,
              std::unique_ptr<GpuLayer> shortcut, const GpuRuntime& runtime);

  bool is_composite() const override { return true; }
  std::vector<GpuParam*> params() override;
  std::vector<GpuBuffer*> buffers() override;
  void for_each_leaf(const std::function<void(GpuLayer&)>& fn) override;

 protected:
  const GpuTensor& forward_impl(const GpuTensor& x, const GpuPass& pass) override;
  const GpuTensor& backward_impl(const GpuTensor& dy, const GpuPass& pass) override;

 private:
  const GpuTensor& sum_gradients(const GpuTensor& db, const GpuTensor& ds);

  const Residual& residual_;
  std::unique_ptr<GpuLayer> branch_, shortcut_;
  GpuStorage y_storage_, dsum_storage_;
  GpuTensor y_;
};

}  // namespace lb::cuda
