#pragma once
// Multi-tensor optimizer kernels: all parameter tensors of a model in one
// launch per pass. The slot table travels as a kernel parameter (up to 32 KiB
// since CUDA 12.1 on sm_70+), so nothing has to be uploaded, kept alive or
// synchronised per step; models with more than kMaxSlotsPerLaunch tensors
// take several launches per pass.
//
// LARS is two launches: the norms (squares summed in the CPU's order, see
// elementwise_math.hpp; the last block of each tensor turns them into the
// trust ratio) and the update. SGD is one. All pointers are device memory.
#include <cuda_runtime_api.h>

#include <cstdint>

namespace lb::cuda {

inline constexpr int kMaxSlotsPerLaunch = 256;
inline constexpr std::int64_t kUpdateChunk = 8192;  // elements per block of the update

struct SlotRecord {
  float* weight;      // (size) fp32 master weights, updated in place
  const float* grad;  // (size) loss-scaled gradient, only read
  float* momentum;    // (size) velocity
  std::int64_t size;
  double trust_weight_decay;      // wd in the trust ratio (double, as on the CPU), 0 if no decay
  float weight_decay;             // wd in the update (float, as on the CPU), 0 if no decay
  std::int32_t adapt;             // LARS trust ratio applies
  std::int32_t first_norm_block;  // index of its first norm block in the batch
  std::int32_t norm_blocks;       // 0 unless adapt
  std::int32_t first_update_chunk;
  std::int32_t update_chunks;
};

// Up to kMaxSlotsPerLaunch slots; the first_* indices count from 0 per batch.
struct SlotBatch {
  std::int32_t count = 0;
  std::int32_t norm_blocks = 0;
  std::int32_t update_chunks = 0;
  SlotRecord slots[kMaxSlotsPerLaunch];
};

struct LarsHyper {
  double eta;
  double epsilon;
  bool clip;
  float momentum;
  bool nesterov;
};

// Device scratch of one batch, owned by the optimizer; offsets already
// applied so that index 0 is the batch's first slot or norm block.
struct LarsScratch {
  double2* block_squares;  // (norm_blocks) sums of w^2 and grad^2 per block
  unsigned* blocks_done;   // (count) zero between steps
  double* local_lr;        // (count) trust ratio of the last step, 1 where !adapt
};

// `skip` (device, may be null): when *skip != 0 the kernels change nothing,
// so a step with inf/NaN gradients is dropped without a host round trip.
void launch_lars_norms(const SlotBatch& batch, const LarsHyper& hyper, LarsScratch scratch,
                       float grad_scale, const int* skip, cudaStream_t stream);
void launch_lars_update(const SlotBatch& batch, const LarsHyper& hyper, LarsScratch scratch,
                        float lr, float grad_scale, const int* skip, cudaStream_t stream);
void launch_sgd_update(const SlotBatch& batch, float momentum, bool nesterov, float lr,
                       float grad_scale, const int* skip, cudaStream_t stream);

}  // namespace lb::cuda
