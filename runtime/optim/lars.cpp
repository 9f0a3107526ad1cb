// LARS: layer-wise adaptive rate scaling (You, Gitman, Ginsburg 2017), in the
// momentum form of the paper and of NVIDIA's implementation. Per slot:
//
//   g        = grad * grad_scale                true gradient (grad is loss-scaled)
//   wd_s     = wd if slot.weight_decay else 0
//   d        = g + wd_s * w
//   local_lr = eta * ||w|| / (||g|| + wd_s * ||w|| + epsilon)   slot.adapt
//            = 1                                 ||w|| == 0 or ||g|| == 0, or !slot.adapt
//   local_lr = min(local_lr, 1)                  lars.clip (LARC: min(local_lr*lr, lr))
//   v        = m * v + lr * local_lr * d         momentum on the scaled update
//   w       -= v                                 plain
//   w       -= m * v + lr * local_lr * d         Nesterov (v already updated)
//
// ||.|| are L2 norms of the fp32 master weight and of the true gradient;
// ||g|| = |grad_scale| * ||grad||, so the gradient is scaled once per tensor
// rather than once per element. Norms accumulate squares in double: a float
// squared is exact in double, so only the additions round, and blocked
// summation keeps that error near (4096/8 + n/4096) * 2^-53 relative, far
// below fp32 resolution.
//
// Each adaptive slot costs two tight passes: one reading w and grad for both
// norms, one updating w and v. The gradient is never written. Both passes run
// over all slots at once in fixed-size chunks on every compute thread
// (slot_chunks.hpp); the norms add their block sums in block order, so they
// are bitwise the same on any number of threads. The per-element update and
// the trust ratio are in runtime/core/elementwise_math.hpp, shared with the
// CUDA kernels.
#include "runtime/optim/lars.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <vector>

#include "runtime/core/elementwise_math.hpp"
#include "runtime/optim/slot_chunks.hpp"

namespace lb {
namespace {

// The kernels index all three spans with one counter, so a size mismatch
// would read or write out of bounds: refuse it loudly instead.
void check_slot(const OptimSlot& slot) {
  if (slot.grad.size() != slot.weight.size() || slot.momentum.size() != slot.weight.size()) {
    throw std::invalid_argument("lars: slot weight, grad and momentum sizes differ");
  }
}

// Independent accumulator lanes: without -ffast-math the compiler may not
// reorder a single running sum, but it can vectorise across lanes; they also
// shorten the dependency chain of the additions.
constexpr std::size_t kLanes = math::kLarsNormLanes;

// Blocked two-level summation: each block starts from zero and its total is
// added once, so rounding grows with block + n/block additions rather than n.
// The order is shared with the CUDA kernels (elementwise_math.hpp).
constexpr std::size_t kNormBlock = math::kLarsNormBlock;
constexpr std::size_t kUpdateChunk = 1 << 14;  // elements per work item of the update

double pairwise_total(const double (&lanes)[kLanes]) {
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) +
         ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

// The per-element formula is shared with the CUDA kernels; the loop stays
// here, branch-free per variant so that it vectorises.
template <bool kNesterov>
void lars_update(float* __restrict w, const float* __restrict g, float* __restrict v, std::size_t n,
                 math::LarsCoeffs c) {
  for (std::size_t i = 0; i < n; ++i) {
    const math::WeightAndVelocity next = math::lars_update<kNesterov>(w[i], g[i], v[i], c);
    v[i] = next.velocity;
    w[i] = next.weight;
  }
}

struct SquareSums {
  double weight;
  double grad;
};

// Sums of the squares of one block of w and g. Kept out of line: inlined into
// the block loop, GCC 12 no longer vectorises the lanes (checked with objdump).
[[gnu::noinline]] SquareSums block_squares(const float* __restrict w, const float* __restrict g,
                                           std::size_t n) {
  double ww[kLanes] = {};
  double gg[kLanes] = {};
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (std::size_t j = 0; j < kLanes; ++j) {
      const double wj = w[i + j];
      const double gj = g[i + j];
      ww[j] += wj * wj;
      gg[j] += gj * gj;
    }
  }
  // The tail gets its own sums: indexing the lanes with a variable would force
  // them out of registers for the main loop too.
  double w_tail = 0.0;
  double g_tail = 0.0;
  for (; i < n; ++i) {
    const double wi = w[i];
    const double gi = g[i];
    w_tail += wi * wi;
    g_tail += gi * gi;
  }
  return {pairwise_total(ww) + w_tail, pairwise_total(gg) + g_tail};
}

}  // namespace

L2Norms l2_norms(std::span<const float> weight, std::span<const float> grad) {
  if (weight.size() != grad.size()) {
    throw std::invalid_argument("l2_norms: weight and grad sizes differ");
  }
  constexpr std::size_t kBlock = kNormBlock;
  const std::size_t n = weight.size();
  double w_total = 0.0;
  double g_total = 0.0;
  for (std::size_t begin = 0; begin < n; begin += kBlock) {
    const SquareSums block =
        block_squares(weight.data() + begin, grad.data() + begin, std::min(kBlock, n - begin));
    w_total += block.weight;
    g_total += block.grad;
  }
  return {std::sqrt(w_total), std::sqrt(g_total)};
}

double lars_local_lr(const LarsSpec& lars, double weight_norm, double grad_norm,
                     double weight_decay) {
  return math::lars_trust_ratio(lars.eta, lars.epsilon, lars.clip, weight_norm, grad_norm,
                                weight_decay);
}

LarsOptimizer::LarsOptimizer(const OptimizerSpec& spec)
    : momentum_(static_cast<float>(spec.momentum)),
      nesterov_(spec.nesterov),
      weight_decay_(spec.weight_decay),
      lars_(spec.lars) {}

std::vector<double> LarsOptimizer::local_lrs(std::span<const OptimSlot> slots,
                                             float grad_scale) const {
  const auto blocks =
      slot_chunks(slots, kNormBlock, [](const OptimSlot& slot) { return slot.adapt; });
  std::vector<SquareSums> block_sums(blocks.size());
  for_each_chunk(blocks, [&](std::size_t i, const SlotChunk& b) {
    const OptimSlot& slot = slots[b.slot];
    block_sums[i] =
        block_squares(slot.weight.data() + b.begin, slot.grad.data() + b.begin, b.end - b.begin);
  });
  // In block order, exactly as l2_norms adds them.
  std::vector<SquareSums> totals(slots.size(), SquareSums{0.0, 0.0});
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    totals[blocks[i].slot].weight += block_sums[i].weight;
    totals[blocks[i].slot].grad += block_sums[i].grad;
  }
  std::vector<double> local(slots.size(), 1.0);
  for (std::size_t s = 0; s < slots.size(); ++s) {
    if (!slots[s].adapt) continue;
    const double wd = slots[s].weight_decay ? weight_decay_ : 0.0;
    const double grad_norm = math::true_grad_norm(grad_scale, totals[s].grad);
    local[s] = lars_local_lr(lars_, std::sqrt(totals[s].weight), grad_norm, wd);
  }
  return local;
}

void LarsOptimizer::step(std::span<const OptimSlot> slots, float lr, float grad_scale) {
  for (const OptimSlot& slot : slots) check_slot(slot);
  last_local_lrs_ = local_lrs(slots, grad_scale);
  for_each_chunk(slot_chunks(slots, kUpdateChunk), [&](std::size_t, const SlotChunk& chunk) {
    const OptimSlot& slot = slots[chunk.slot];
    const double wd = slot.weight_decay ? weight_decay_ : 0.0;
    const double rate = static_cast<double>(lr) * last_local_lrs_[chunk.slot];
    const math::LarsCoeffs c{grad_scale, static_cast<float>(wd), momentum_,
                             static_cast<float>(rate)};
    const std::size_t n = chunk.end - chunk.begin;
    float* w = slot.weight.data() + chunk.begin;
    const float* g = slot.grad.data() + chunk.begin;
    float* v = slot.momentum.data() + chunk.begin;
    if (nesterov_) {
      lars_update<true>(w, g, v, n, c);
    } else {
      lars_update<false>(w, g, v, n, c);
    }
  });
}

}  // namespace lb
