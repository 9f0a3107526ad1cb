#include "runtime/backends/cuda/cuda_lars_optimizer.hpp"

#include "runtime/backends/cuda/cuda_error.hpp"

namespace lb::cuda {

CudaLarsOptimizer::CudaLarsOptimizer(const OptimizerSpec& spec, CachingAllocator& allocator,
                                     cudaStream_t stream)
    : hyper_{spec.lars.eta, spec.lars.epsilon, spec.lars.clip, static_cast<float>(spec.momentum),
             spec.nesterov},
      weight_decay_(spec.weight_decay),
      allocator_(allocator),
      stream_(stream) {}

void CudaLarsOptimizer::step(std::span<const OptimSlot> slots, float lr, float grad_scale) {
  step(slots, lr, grad_scale, nullptr);
}

void CudaLarsOptimizer::step(std::span<const OptimSlot> slots, float lr, float grad_scale,
                             const int* skip) {
  plan(slots);
  // All norms first: a batch's update must not run before its trust ratios,
  // and the stream orders the launches.
  for (std::size_t b = 0; b < batches_.batches.size(); ++b) {
    launch_lars_norms(batches_.batches[b], hyper_, scratch_of(b), grad_scale, skip, stream_);
  }
  for (std::size_t b = 0; b < batches_.batches.size(); ++b) {
    launch_lars_update(batches_.batches[b], hyper_, scratch_of(b), lr, grad_scale, skip, stream_);
  }
}

std::vector<double> CudaLarsOptimizer::last_local_lrs() const {
  std::vector<double> host(local_lr_.size());
  copy(std::span<const double>(local_lr_.span()), std::span<double>(host), stream_);
  LB_CUDA_CHECK(cudaStreamSynchronize(stream_));
  return host;
}

void CudaLarsOptimizer::plan(std::span<const OptimSlot> slots) {
  std::vector<SlotKey> keys = slot_keys(slots);
  if (keys == planned_ && !planned_.empty()) return;
  batches_ = make_slot_batches(slots, weight_decay_, /*with_norms=*/true);
  block_squares_ = DeviceBuffer<double2>(allocator_, batches_.norm_blocks);
  blocks_done_ = DeviceBuffer<unsigned>(allocator_, slots.size());
  local_lr_ = DeviceBuffer<double>(allocator_, slots.size());
  // The norm kernel's completion counters start at zero and return to it.
  LB_CUDA_CHECK(cudaMemsetAsync(blocks_done_.data(), 0, blocks_done_.span().size_bytes(), stream_));
  planned_ = std::move(keys);
}

LarsScratch CudaLarsOptimizer::scratch_of(std::size_t batch) const {
  return {block_squares_.data() + batches_.first_norm_block[batch],
          blocks_done_.data() + batches_.first_slot[batch],
          local_lr_.data() + batches_.first_slot[batch]};
}

}  // namespace lb::cuda
