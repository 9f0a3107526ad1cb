// LARS and SGD over all slots. Formulas: runtime/core/elementwise_math.hpp
// (shared with runtime/optim/lars.cpp and sgd.cpp), compiled without FMA
// contraction, so that with the same trust ratio the update is bitwise the
// CPU's; the norms add in the CPU's order, so the trust ratio is too. The
// slot table is a __grid_constant__ parameter: indexed at run time, a plain
// by-value parameter would be copied into every thread's local memory.
#include "runtime/backends/cuda/cuda_error.hpp"
#include "runtime/backends/cuda/launch_config.cuh"
#include "runtime/backends/cuda/optimizer_kernels.hpp"
#include "runtime/core/elementwise_math.hpp"

namespace lb::cuda {
namespace {

constexpr int kLanes = static_cast<int>(math::kLarsNormLanes);
constexpr std::int64_t kNormBlock = static_cast<std::int64_t>(math::kLarsNormBlock);
constexpr int kNormBlocksPerCudaBlock = kThreads / kLanes;  // one 8-thread group per norm block

struct Squares {
  double weight;
  double grad;
};

// Lane `lane` of an 8-thread group: its lane sum over the whole groups of 8.
__device__ Squares lane_squares(const float* w, const float* g, std::int64_t whole, int lane) {
  Squares s{0.0, 0.0};
  for (std::int64_t i = lane; i < whole; i += kLanes) {
    const double wi = w[i];
    const double gi = g[i];
    s.weight += wi * wi;
    s.grad += gi * gi;
  }
  return s;
}

// ((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7)) over the group, in lane 0: the CPU's
// pairwise_total, by shuffles of distance 1, 2 and 4.
__device__ double pairwise_group_total(double value, unsigned group_mask) {
  for (int distance = 1; distance < kLanes; distance *= 2) {
    value += __shfl_down_sync(group_mask, value, distance, kLanes);
  }
  return value;
}

__device__ Squares tail_squares(const float* w, const float* g, std::int64_t from,
                                std::int64_t to) {
  Squares s{0.0, 0.0};
  for (std::int64_t i = from; i < to; ++i) {
    const double wi = w[i];
    const double gi = g[i];
    s.weight += wi * wi;
    s.grad += gi * gi;
  }
  return s;
}

__device__ int slot_of_norm_block(const SlotBatch& b, std::int32_t block) {
  return entry_of(b.slots, b.count, block, [](const SlotRecord& r) { return r.first_norm_block; });
}

__device__ int slot_of_update_chunk(const SlotBatch& b, std::int32_t chunk) {
  return entry_of(b.slots, b.count, chunk,
                  [](const SlotRecord& r) { return r.first_update_chunk; });
}

// The last group to finish a slot's blocks adds their totals in block order
// and stores the trust ratio (the fences make the other groups' block totals
// visible before the count that says they are there).
__device__ void finish_slot(const SlotRecord& r, int slot, const LarsHyper& h, LarsScratch s,
                            float grad_scale) {
  __threadfence();
  if (atomicAdd(&s.blocks_done[slot], 1u) != static_cast<unsigned>(r.norm_blocks - 1)) return;
  __threadfence();
  double w_total = 0.0, g_total = 0.0;
  for (std::int32_t b = 0; b < r.norm_blocks; ++b) {
    const double2 squares = __ldcg(&s.block_squares[r.first_norm_block + b]);
    w_total += squares.x;
    g_total += squares.y;
  }
  s.local_lr[slot] =
      math::lars_trust_ratio(h.eta, h.epsilon, h.clip, std::sqrt(w_total),
                             math::true_grad_norm(grad_scale, g_total), r.trust_weight_decay);
  s.blocks_done[slot] = 0;  // ready for the next step
}

__global__ void lars_norms_kernel(const __grid_constant__ SlotBatch batch, const LarsHyper hyper,
                                  LarsScratch scratch, float grad_scale, const int* skip) {
  if (skip != nullptr && *skip != 0) return;
  const int group = threadIdx.x / kLanes, lane = threadIdx.x % kLanes;
  const std::int32_t block = blockIdx.x * kNormBlocksPerCudaBlock + group;
  if (block >= batch.norm_blocks) return;  // whole groups leave together
  const int slot = slot_of_norm_block(batch, block);
  const SlotRecord& r = batch.slots[slot];
  const std::int64_t begin = (block - r.first_norm_block) * kNormBlock;
  const std::int64_t length = r.size - begin < kNormBlock ? r.size - begin : kNormBlock;
  const std::int64_t whole = length / kLanes * kLanes;
  const float* w = r.weight + begin;
  const float* g = r.grad + begin;
  const Squares lanes = lane_squares(w, g, whole, lane);
  const unsigned group_mask = 0xffu << (threadIdx.x % 32 / kLanes * kLanes);
  const double w_block = pairwise_group_total(lanes.weight, group_mask);
  const double g_block = pairwise_group_total(lanes.grad, group_mask);
  if (lane != 0) return;
  const Squares tail = tail_squares(w, g, whole, length);
  scratch.block_squares[block] = make_double2(w_block + tail.weight, g_block + tail.grad);
  finish_slot(r, slot, hyper, scratch, grad_scale);
}

template <bool kNesterov>
__global__ void lars_update_kernel(const __grid_constant__ SlotBatch batch, const float momentum,
                                   LarsScratch scratch, float lr, float grad_scale,
                                   const int* skip) {
  if (skip != nullptr && *skip != 0) return;
  const int slot = slot_of_update_chunk(batch, blockIdx.x);
  const SlotRecord& r = batch.slots[slot];
  const double local_lr = r.adapt ? scratch.local_lr[slot] : 1.0;
  // Non-adaptive slots report a trust ratio of 1, as on the CPU.
  if (!r.adapt && blockIdx.x == r.first_update_chunk && threadIdx.x == 0) {
    scratch.local_lr[slot] = 1.0;
  }
  const math::LarsCoeffs c{grad_scale, r.weight_decay, momentum,
                           static_cast<float>(static_cast<double>(lr) * local_lr)};
  const std::int64_t begin = (blockIdx.x - r.first_update_chunk) * kUpdateChunk;
  const std::int64_t end = r.size - begin < kUpdateChunk ? r.size : begin + kUpdateChunk;
  for (std::int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    const math::WeightAndVelocity next =
        math::lars_update<kNesterov>(r.weight[i], r.grad[i], r.momentum[i], c);
    r.momentum[i] = next.velocity;
    r.weight[i] = next.weight;
  }
}

template <bool kNesterov>
__global__ void sgd_update_kernel(const __grid_constant__ SlotBatch batch, const float momentum,
                                  float lr, float grad_scale, const int* skip) {
  if (skip != nullptr && *skip != 0) return;
  const int slot = slot_of_update_chunk(batch, blockIdx.x);
  const SlotRecord& r = batch.slots[slot];
  const math::SgdCoeffs c{grad_scale, r.weight_decay, momentum, lr};
  const std::int64_t begin = (blockIdx.x - r.first_update_chunk) * kUpdateChunk;
  const std::int64_t end = r.size - begin < kUpdateChunk ? r.size : begin + kUpdateChunk;
  for (std::int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    const math::WeightAndVelocity next =
        math::sgd_update<kNesterov>(r.weight[i], r.grad[i], r.momentum[i], c);
    r.momentum[i] = next.velocity;
    r.weight[i] = next.weight;
  }
}

}  // namespace

void launch_lars_norms(const SlotBatch& batch, const LarsHyper& hyper, LarsScratch scratch,
                       float grad_scale, const int* skip, cudaStream_t stream) {
  if (batch.norm_blocks == 0) return;
  const int blocks = (batch.norm_blocks + kNormBlocksPerCudaBlock - 1) / kNormBlocksPerCudaBlock;
  lars_norms_kernel<<<blocks, kThreads, 0, stream>>>(batch, hyper, scratch, grad_scale, skip);
  LB_CUDA_CHECK_LAUNCH();
}

void launch_lars_update(const SlotBatch& batch, const LarsHyper& hyper, LarsScratch scratch,
                        float lr, float grad_scale, const int* skip, cudaStream_t stream) {
  if (batch.update_chunks == 0) return;
  if (hyper.nesterov) {
    lars_update_kernel<true><<<batch.update_chunks, kThreads, 0, stream>>>(
        batch, hyper.momentum, scratch, lr, grad_scale, skip);
  } else {
    lars_update_kernel<false><<<batch.update_chunks, kThreads, 0, stream>>>(
        batch, hyper.momentum, scratch, lr, grad_scale, skip);
  }
  LB_CUDA_CHECK_LAUNCH();
}

void launch_sgd_update(const SlotBatch& batch, float momentum, bool nesterov, float lr,
                       float grad_scale, const int* skip, cudaStream_t stream) {
  if (batch.update_chunks == 0) return;
  if (nesterov) {
    sgd_update_kernel<true>
        <<<batch.update_chunks, kThreads, 0, stream>>>(batch, momentum, lr, grad_scale, skip);
  } else {
    sgd_update_kernel<false>
        <<<batch.update_chunks, kThreads, 0, stream>>>(batch, momentum, lr, grad_scale, skip);
  }
  LB_CUDA_CHECK_LAUNCH();
}

}  // namespace lb::cuda
