#pragma once
// Momentum SGD on the GPU: the formulas of runtime/optim/sgd.cpp
// (elementwise_math.hpp) over OptimSlots whose spans are device memory, one
// launch per step for up to kMaxSlotsPerLaunch tensors.
#include <cuda_runtime_api.h>

#include <span>
#include <string>
#include <vector>

#include "runtime/backends/cuda/slot_batches.hpp"
#include "runtime/core/spec.hpp"
#include "runtime/optim/optimizer.hpp"

namespace lb::cuda {

class CudaSgdOptimizer final : public Optimizer {
 public:
  // Reads momentum, nesterov and weight_decay; work goes to `stream`.
  CudaSgdOptimizer(const OptimizerSpec& spec, cudaStream_t stream);
  std::string name() const override { return "sgd"; }
  // Enqueues the step and returns.
  void step(std::span<const OptimSlot> slots, float lr, float grad_scale) override;
  // The same, dropped on the device when *skip != 0 (device memory).
  void step(std::span<const OptimSlot> slots, float lr, float grad_scale, const int* skip);

 private:
  float momentum_;
  bool nesterov_;
  double weight_decay_;
  cudaStream_t stream_;
  std::vector<SlotKey> planned_;
  SlotBatches batches_;
};

}  // namespace lb::cuda
