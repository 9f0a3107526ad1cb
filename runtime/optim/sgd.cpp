// Momentum SGD, PyTorch convention (dampening 0):
//   g = grad * grad_scale                 true gradient (grad is loss-scaled)
//   d = g + wd * w                        wd only for slots with weight_decay
//   v = m * v + d
//   w -= lr * v                           plain
//   w -= lr * (d + m * v)                 Nesterov (v already updated)
// One pass over memory per slot; the gradient is only read.
#include "runtime/optim/sgd.hpp"

#include <cstddef>
#include <stdexcept>

#include "runtime/core/elementwise_math.hpp"
#include "runtime/optim/slot_chunks.hpp"

namespace lb {
namespace {

// The kernel indexes all three spans with one counter, so a size mismatch
// would read or write out of bounds: refuse it loudly instead.
void check_slot(const OptimSlot& slot) {
  if (slot.grad.size() != slot.weight.size() || slot.momentum.size() != slot.weight.size()) {
    throw std::invalid_argument("sgd: slot weight, grad and momentum sizes differ");
  }
}

constexpr std::size_t kChunk = 1 << 14;  // elements per work item of the update

// Separate loops per variant keep the bodies branch-free so they vectorise.
// The per-element formula is shared with the CUDA kernels.
template <bool kNesterov>
void sgd_update(float* __restrict w, const float* __restrict g, float* __restrict v, std::size_t n,
                math::SgdCoeffs c) {
  for (std::size_t i = 0; i < n; ++i) {
    const math::WeightAndVelocity next = math::sgd_update<kNesterov>(w[i], g[i], v[i], c);
    v[i] = next.velocity;
    w[i] = next.weight;
  }
}

}  // namespace

SgdOptimizer::SgdOptimizer(const OptimizerSpec& spec)
    : momentum_(static_cast<float>(spec.momentum)),
      nesterov_(spec.nesterov),
      weight_decay_(static_cast<float>(spec.weight_decay)) {}

void SgdOptimizer::step(std::span<const OptimSlot> slots, float lr, float grad_scale) {
  for (const OptimSlot& slot : slots) check_slot(slot);
  for_each_chunk(slot_chunks(slots, kChunk), [&](std::size_t, const SlotChunk& chunk) {
    const OptimSlot& slot = slots[chunk.slot];
    const math::SgdCoeffs c{grad_scale, slot.weight_decay ? weight_decay_ : 0.0f, momentum_, lr};
    const std::size_t n = chunk.end - chunk.begin;
    float* w = slot.weight.data() + chunk.begin;
    const float* g = slot.grad.data() + chunk.begin;
    float* v = slot.momentum.data() + chunk.begin;
    if (nesterov_) {
      sgd_update<true>(w, g, v, n, c);
    } else {
      sgd_update<false>(w, g, v, n, c);
    }
  });
}

}  // namespace lb
