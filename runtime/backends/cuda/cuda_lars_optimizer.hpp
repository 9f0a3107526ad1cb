#pragma once
// LARS on the GPU: the same formulas and the same summation order as
// runtime/optim/lars.cpp (elementwise_math.hpp), over OptimSlots whose spans
// are device memory, in two launches per step for up to kMaxSlotsPerLaunch
// tensors (optimizer_kernels.hpp).
#include <cuda_runtime_api.h>

#include <span>
#include <string>
#include <vector>

#include "runtime/backends/cuda/caching_allocator.hpp"
#include "runtime/backends/cuda/device_buffer.hpp"
#include "runtime/backends/cuda/slot_batches.hpp"
#include "runtime/core/spec.hpp"
#include "runtime/optim/optimizer.hpp"

namespace lb::cuda {

class CudaLarsOptimizer final : public Optimizer {
 public:
  // Reads momentum, nesterov, weight_decay and lars.{eta,epsilon,clip};
  // scratch comes from `allocator`, work goes to `stream`.
  CudaLarsOptimizer(const OptimizerSpec& spec, CachingAllocator& allocator, cudaStream_t stream);
  std::string name() const override { return "lars"; }
  // Enqueues the step and returns; the weights change when the stream gets there.
  void step(std::span<const OptimSlot> slots, float lr, float grad_scale) override;
  // The same, dropped on the device when *skip != 0 (device memory, e.g. the
  // found-inf flag of unscale_and_check): no host round trip per step.
  void step(std::span<const OptimSlot> slots, float lr, float grad_scale, const int* skip);
  // Each slot's trust ratio in the last step that ran (1 where !adapt), in
  // slot order. Waits for the stream.
  std::vector<double> last_local_lrs() const;

 private:
  void plan(std::span<const OptimSlot> slots);  // when the slots differ from the last plan's
  LarsScratch scratch_of(std::size_t batch) const;

  LarsHyper hyper_;
  double weight_decay_;
  CachingAllocator& allocator_;
  cudaStream_t stream_;
  std::vector<SlotKey> planned_;
  SlotBatches batches_;
  DeviceBuffer<double2> block_squares_;  // (norm blocks)
  DeviceBuffer<unsigned> blocks_done_;   // (slots)
  DeviceBuffer<double> local_lr_;        // (slots)
};

}  // namespace lb::cuda
