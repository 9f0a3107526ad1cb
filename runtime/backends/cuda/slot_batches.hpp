#pragma once
// Cuts a model's optimizer slots (device spans) into the kernel-parameter
// tables of optimizer_kernels.hpp: batches of at most kMaxSlotsPerLaunch
// slots with their norm blocks and update chunks numbered per batch.
#include <cstddef>
#include <span>
#include <vector>

#include "runtime/backends/cuda/optimizer_kernels.hpp"
#include "runtime/optim/optimizer.hpp"

namespace lb::cuda {

struct SlotBatches {
  std::vector<SlotBatch> batches;
  // Per batch: index of its first slot and of its first norm block over all
  // batches, where the batch's part of the optimizer's scratch begins.
  std::vector<std::size_t> first_slot;
  std::vector<std::size_t> first_norm_block;
  std::size_t norm_blocks = 0;  // over all batches
};

// `weight_decay` is the optimizer's (applied to slots with weight_decay);
// norm blocks are planned for adaptive slots only when `with_norms`.
// Throws std::invalid_argument when a slot's spans differ in size.
SlotBatches make_slot_batches(std::span<const OptimSlot> slots, double weight_decay,
                              bool with_norms);

// What a plan was made from: a later step with equal keys reuses it.
struct SlotKey {
  const float* weight;
  const float* grad;
  const float* momentum;
  std::size_t size;
  bool weight_decay;
  bool adapt;
  bool operator==(const SlotKey&) const = default;
};
std::vector<SlotKey> slot_keys(std::span<const OptimSlot> slots);

}  // namespace lb::cuda
