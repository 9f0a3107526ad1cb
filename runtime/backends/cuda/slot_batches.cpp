#include "runtime/backends/cuda/slot_batches.hpp"

#include <climits>
#include <stdexcept>

#include "runtime/core/elementwise_math.hpp"

namespace lb::cuda {
namespace {

std::int32_t blocks_of(std::size_t size, std::size_t block) {
  const std::size_t blocks = (size + block - 1) / block;
  if (blocks > static_cast<std::size_t>(INT_MAX / 2)) {
    throw std::invalid_argument("cuda optimizer: a tensor of " + std::to_string(size) +
                                " elements is too large for one launch");
  }
  return static_cast<std::int32_t>(blocks);
}

void check_slot(const OptimSlot& slot) {
  if (slot.grad.size() != slot.weight.size() || slot.momentum.size() != slot.weight.size()) {
    throw std::invalid_argument("cuda optimizer: slot weight, grad and momentum sizes differ");
  }
}

// Appends `slot` to `batch`, numbering its blocks after the batch's others.
void append(SlotBatch& batch, const OptimSlot& slot, double weight_decay, bool with_norms) {
  const double wd = slot.weight_decay ? weight_decay : 0.0;
  const bool norms = with_norms && slot.adapt;
  SlotRecord& r = batch.slots[batch.count++];
  r.weight = slot.weight.data();
  r.grad = slot.grad.data();
  r.momentum = slot.momentum.data();
  r.size = static_cast<std::int64_t>(slot.weight.size());
  r.trust_weight_decay = wd;
  r.weight_decay = static_cast<float>(wd);
  r.adapt = slot.adapt ? 1 : 0;
  r.first_norm_block = batch.norm_blocks;
  r.norm_blocks = norms ? blocks_of(slot.weight.size(), math::kLarsNormBlock) : 0;
  r.first_update_chunk = batch.update_chunks;
  r.update_chunks = blocks_of(slot.weight.size(), kUpdateChunk);
  if (INT_MAX - batch.norm_blocks < r.norm_blocks ||
      INT_MAX - batch.update_chunks < r.update_chunks) {
    throw std::invalid_argument("cuda optimizer: too many elements for one launch");
  }
  batch.norm_blocks += r.norm_blocks;
  batch.update_chunks += r.update_chunks;
}

}  // namespace

SlotBatches make_slot_batches(std::span<const OptimSlot> slots, double weight_decay,
                              bool with_norms) {
  SlotBatches out;
  for (std::size_t s = 0; s < slots.size(); ++s) {
    check_slot(slots[s]);
    if (out.batches.empty() || out.batches.back().count == kMaxSlotsPerLaunch) {
      out.batches.emplace_back();
      out.first_slot.push_back(s);
      out.first_norm_block.push_back(out.norm_blocks);
    }
    SlotBatch& batch = out.batches.back();
    append(batch, slots[s], weight_decay, with_norms);
    out.norm_blocks += static_cast<std::size_t>(batch.slots[batch.count - 1].norm_blocks);
  }
  return out;
}

std::vector<SlotKey> slot_keys(std::span<const OptimSlot> slots) {
  std::vector<SlotKey> keys;
  keys.reserve(slots.size());
  for (const OptimSlot& s : slots) {
    keys.push_back({s.weight.data(), s.grad.data(), s.momentum.data(), s.weight.size(),
                    s.weight_decay, s.adapt});
  }
  return keys;
}

}  // namespace lb::cuda
