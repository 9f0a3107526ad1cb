#pragma once
// Per-GPU memory of data-parallel training, estimated from the model's cost
// table: what must be resident at the peak of a step (the end of forward).
//   parameters: fp16 copy (fp16 only), fp32 master weights, gradients
//     (fp32 buckets, as the runtime all-reduces them; plus the fp16 ones),
//     optimizer state (momentum, fp32)
//   activations: every layer's output at the per-GPU batch and precision
//     (kept for backward), plus the input batch
//   workspace: two of the largest layer's output (gradient buffers in
//     backward) and a fixed 1 GiB for the CUDA context, cuDNN/cuBLAS
//     workspaces and the framework's allocator slack
// The planner (issue 21) calls memory_per_gpu() for every candidate batch.
#include <cstdint>

#include "runtime/core/spec.hpp"
#include "simulator/model_info.hpp"

namespace lb::sim {

struct MemoryEstimate {
  double parameters_gib = 0, activations_gib = 0, workspace_gib = 0;
  double total_gib() const { return parameters_gib + activations_gib + workspace_gib; }
};

MemoryEstimate memory_per_gpu(const Spec& spec, const ModelInfo& model, std::int64_t per_gpu_batch);

}  // namespace lb::sim
