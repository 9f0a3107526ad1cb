#include "runtime/backends/cuda/cuda_sgd_optimizer.hpp"

namespace lb::cuda {

CudaSgdOptimizer::CudaSgdOptimizer(const OptimizerSpec& spec, cudaStream_t stream)
    : momentum_(static_cast<float>(spec.momentum)),
      nesterov_(spec.nesterov),
      weight_decay_(spec.weight_decay),
      stream_(stream) {}

void CudaSgdOptimizer::step(std::span<const OptimSlot> slots, float lr, float grad_scale) {
  step(slots, lr, grad_scale, nullptr);
}

void CudaSgdOptimizer::step(std::span<const OptimSlot> slots, float lr, float grad_scale,
                            const int* skip) {
  std::vector<SlotKey> keys = slot_keys(slots);
  if (keys != planned_ || planned_.empty()) {
    batches_ = make_slot_batches(slots, weight_decay_, /*with_norms=*/false);
    planned_ = std::move(keys);
  }
  for (const SlotBatch& batch : batches_.batches) {
    launch_sgd_update(batch, momentum_, nesterov_, lr, grad_scale, skip, stream_);
  }
}

}  // namespace lb::cuda
