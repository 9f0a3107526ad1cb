// LARS against hand-computed values and against an independent double
// reference; the formulas are in runtime/optim/lars.cpp.
#include "runtime/optim/lars.hpp"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <random>
#include <vector>

namespace lb {
namespace {

struct Buffers {
  std::vector<float> w, g, v;
  Buffers(std::vector<float> weight, std::vector<float> grad)
      : w(std::move(weight)), g(std::move(grad)), v(w.size(), 0.0f) {}
  OptimSlot slot(bool decay, bool adapt = true) { return OptimSlot{w, g, v, decay, adapt}; }
};

OptimizerSpec lars_spec(double eta, double wd, bool nesterov = false, bool clip = false) {
  OptimizerSpec spec;
  spec.name = OptimizerKind::lars;
  spec.momentum = 0.9;
  spec.nesterov = nesterov;
  spec.weight_decay = wd;
  spec.lars.eta = eta;
  spec.lars.epsilon = 1e-9;
  spec.lars.clip = clip;
  return spec;
}

void expect_values(const std::vector<float>& actual, const std::vector<float>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    EXPECT_NEAR(actual[i], expected[i], 1e-6f) << "index " << i;
  }
}

// w = [3, 4] (||w|| = 5), loss-scaled gradient [1.2, 1.6] with grad_scale 1/2
// (true gradient [0.6, 0.8], ||g|| = 1), eta = 0.01, wd = 0.1, m = 0.9, lr = 2.
//   step 1: local_lr = 0.01*5 / (1 + 0.5) = 1/30, lr*local_lr = 1/15
//           d = [0.9, 1.2], v = d/15 = [0.06, 0.08], w = [2.94, 3.92]
//   step 2: ||w|| = 4.9, local_lr = 0.049 / 1.49
//           d = [0.894, 1.192] = 1.49 * [0.6, 0.8], so lr*local_lr*d = [0.0588, 0.0784]
//           v = 0.9*[0.06, 0.08] + [0.0588, 0.0784] = [0.1128, 0.1504]
//           w = [2.8272, 3.7696]
TEST(Lars, HandComputedTwoSteps) {
  LarsOptimizer opt(lars_spec(0.01, 0.1));
  Buffers b({3.0f, 4.0f}, {1.2f, 1.6f});
  const OptimSlot slots[] = {b.slot(true)};
  opt.step(slots, 2.0f, 0.5f);
  EXPECT_NEAR(opt.last_local_lrs().at(0), 1.0 / 30.0, 1e-8);
  expect_values(b.v, {0.06f, 0.08f});
  expect_values(b.w, {2.94f, 3.92f});
  opt.step(slots, 2.0f, 0.5f);
  EXPECT_NEAR(opt.last_local_lrs().at(0), 0.049 / 1.49, 1e-8);
  expect_values(b.v, {0.1128f, 0.1504f});
  expect_values(b.w, {2.8272f, 3.7696f});
}

// Nesterov, one step of the same setting: lr*local_lr*d = [0.06, 0.08] = v,
// w -= 0.9*v + [0.06, 0.08] = [0.114, 0.152].
TEST(Lars, HandComputedNesterov) {
  LarsOptimizer opt(lars_spec(0.01, 0.1, /*nesterov=*/true));
  Buffers b({3.0f, 4.0f}, {1.2f, 1.6f});
  const OptimSlot slots[] = {b.slot(true)};
  opt.step(slots, 2.0f, 0.5f);
  expect_values(b.v, {0.06f, 0.08f});
  expect_values(b.w, {2.886f, 3.848f});
}

// A slot without weight decay: local_lr = 0.01*5 / 1 = 0.05; with lr = 1,
// v = 0.05 * [0.6, 0.8] = [0.03, 0.04], w = [2.97, 3.96].
TEST(Lars, SlotWithoutWeightDecay) {
  LarsOptimizer opt(lars_spec(0.01, 0.1));
  Buffers b({3.0f, 4.0f}, {1.2f, 1.6f});
  const OptimSlot slots[] = {b.slot(false)};
  opt.step(slots, 1.0f, 0.5f);
  EXPECT_NEAR(opt.last_local_lrs().at(0), 0.05, 1e-8);  // 1.2f, 1.6f are inexact
  expect_values(b.w, {2.97f, 3.96f});
}

// eta = 1, wd = 0: local_lr = 5 / 1 = 5. Unclipped, lr = 0.1 gives rate 0.5:
// v = [0.3, 0.4], w = [2.7, 3.6]. Clipped (LARC), the rate is min(0.5, 0.1):
// v = [0.06, 0.08], w = [2.94, 3.92].
TEST(Lars, ClipLimitsLocalLrToOne) {
  {
    LarsOptimizer opt(lars_spec(1.0, 0.0));
    Buffers b({3.0f, 4.0f}, {1.2f, 1.6f});
    const OptimSlot slots[] = {b.slot(true)};
    opt.step(slots, 0.1f, 0.5f);
    EXPECT_NEAR(opt.last_local_lrs().at(0), 5.0, 1e-6);
    expect_values(b.w, {2.7f, 3.6f});
  }
  {
    LarsOptimizer opt(lars_spec(1.0, 0.0, false, /*clip=*/true));
    Buffers b({3.0f, 4.0f}, {1.2f, 1.6f});
    const OptimSlot slots[] = {b.slot(true)};
    opt.step(slots, 0.1f, 0.5f);
    EXPECT_EQ(opt.last_local_lrs().at(0), 1.0);
    expect_values(b.w, {2.94f, 3.92f});
  }
}

// Clipping leaves a local_lr below 1 alone.
TEST(Lars, ClipKeepsSmallLocalLr) {
  LarsOptimizer opt(lars_spec(0.01, 0.1, false, /*clip=*/true));
  Buffers b({3.0f, 4.0f}, {1.2f, 1.6f});
  const OptimSlot slots[] = {b.slot(true)};
  opt.step(slots, 2.0f, 0.5f);
  EXPECT_NEAR(opt.last_local_lrs().at(0), 1.0 / 30.0, 1e-8);
  expect_values(b.w, {2.94f, 3.92f});
}

// ||w|| = 0: trust ratio 1, so v = lr * d. w = 0, true gradient [0.5, 1, 1.5],
// lr = 0.2: v = [0.1, 0.2, 0.3], w = -v.
TEST(Lars, ZeroWeightGetsTrustRatioOne) {
  LarsOptimizer opt(lars_spec(0.01, 0.1));
  Buffers b({0.0f, 0.0f, 0.0f}, {1.0f, 2.0f, 3.0f});
  const OptimSlot slots[] = {b.slot(true)};
  opt.step(slots, 0.2f, 0.5f);
  EXPECT_EQ(opt.last_local_lrs().at(0), 1.0);
  expect_values(b.v, {0.1f, 0.2f, 0.3f});
  expect_values(b.w, {-0.1f, -0.2f, -0.3f});
}

// ||g|| = 0: trust ratio 1; only decay moves w. w = [1, -2], wd = 0.1,
// lr = 0.2: d = [0.1, -0.2], v = [0.02, -0.04], w = [0.98, -1.96].
TEST(Lars, ZeroGradientGetsTrustRatioOne) {
  LarsOptimizer opt(lars_spec(0.01, 0.1));
  Buffers b({1.0f, -2.0f}, {0.0f, 0.0f});
  const OptimSlot slots[] = {b.slot(true)};
  opt.step(slots, 0.2f, 0.5f);
  EXPECT_EQ(opt.last_local_lrs().at(0), 1.0);
  expect_values(b.w, {0.98f, -1.96f});
}

// adapt == false: v = m v + lr d, w -= v, with the same numbers as above.
//   step 1: d = [0.9, 1.2], v = [1.8, 2.4], w = [1.2, 1.6]
//   step 2: d = [0.72, 0.96], v = [3.06, 4.08], w = [-1.86, -2.48]
TEST(Lars, NonAdaptiveSlotTakesMomentumSgdStep) {
  LarsOptimizer opt(lars_spec(0.01, 0.1));
  Buffers b({3.0f, 4.0f}, {1.2f, 1.6f});
  const OptimSlot slots[] = {b.slot(true, /*adapt=*/false)};
  opt.step(slots, 2.0f, 0.5f);
  EXPECT_EQ(opt.last_local_lrs().at(0), 1.0);
  expect_values(b.w, {1.2f, 1.6f});
  opt.step(slots, 2.0f, 0.5f);
  expect_values(b.v, {3.06f, 4.08f});
  expect_values(b.w, {-1.86f, -2.48f});
}

TEST(LarsLocalLr, Formula) {
  LarsSpec lars;
  lars.eta = 0.02;
  lars.epsilon = 0.0;
  EXPECT_DOUBLE_EQ(lars_local_lr(lars, 10.0, 2.0, 0.0), 0.1);
  EXPECT_DOUBLE_EQ(lars_local_lr(lars, 10.0, 2.0, 0.3), 0.04);
  EXPECT_EQ(lars_local_lr(lars, 0.0, 2.0, 0.3), 1.0);
  EXPECT_EQ(lars_local_lr(lars, 10.0, 0.0, 0.3), 1.0);
  lars.eta = 1.0;
  EXPECT_DOUBLE_EQ(lars_local_lr(lars, 10.0, 2.0, 0.0), 5.0);
  lars.clip = true;
  EXPECT_EQ(lars_local_lr(lars, 10.0, 2.0, 0.0), 1.0);
}

// Accuracy: 2^22 equal values, the worst case for a running sum (an fp32 one
// drifts by ~1e-3 relative, a plain double one by ~1e-12); the blocked double
// accumulation must agree with an 80-bit reference to ~1e-14.
TEST(LarsNorms, AccurateOnLargeTensors) {
  const std::size_t n = std::size_t{1} << 22;
  std::vector<float> w(n, 0.1f), g(n);
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (float& x : g) x = normal(rng);
  long double ww = 0, gg = 0;
  for (std::size_t i = 0; i < n; ++i) {
    ww += static_cast<long double>(w[i]) * w[i];
    gg += static_cast<long double>(g[i]) * g[i];
  }
  const L2Norms norms = l2_norms(w, g);
  EXPECT_NEAR(norms.weight, std::sqrt(static_cast<double>(ww)), 1e-14 * norms.weight);
  EXPECT_NEAR(norms.grad, std::sqrt(static_cast<double>(gg)), 1e-14 * norms.grad);
}

TEST(LarsNorms, AllLengthsIncludingTails) {
  for (std::size_t n = 0; n < 40; ++n) {
    std::vector<float> w(n), g(n);
    double ww = 0, gg = 0;
    for (std::size_t i = 0; i < n; ++i) {
      w[i] = static_cast<float>(i) + 1.0f;
      g[i] = -0.5f * static_cast<float>(i);
      ww += double{w[i]} * w[i];
      gg += double{g[i]} * g[i];
    }
    const L2Norms norms = l2_norms(w, g);
    EXPECT_DOUBLE_EQ(norms.weight, std::sqrt(ww)) << n;
    EXPECT_DOUBLE_EQ(norms.grad, std::sqrt(gg)) << n;
  }
}

// Independent reference: the LARS step in double, written out directly.
struct RefSlot {
  std::vector<double> w, v;
  std::vector<float> g;
  bool decay, adapt;
};

void reference_lars_step(std::vector<RefSlot>& slots, const OptimizerSpec& spec, double lr,
                         double grad_scale) {
  for (RefSlot& s : slots) {
    const double wd = s.decay ? spec.weight_decay : 0.0;
    double ww = 0, gg = 0;
    for (std::size_t i = 0; i < s.w.size(); ++i) {
      ww += s.w[i] * s.w[i];
      gg += (s.g[i] * grad_scale) * (s.g[i] * grad_scale);
    }
    double local = 1.0;
    if (s.adapt && ww > 0 && gg > 0) {
      local =
          spec.lars.eta * std::sqrt(ww) / (std::sqrt(gg) + wd * std::sqrt(ww) + spec.lars.epsilon);
      if (spec.lars.clip) local = std::min(local, 1.0);
    }
    for (std::size_t i = 0; i < s.w.size(); ++i) {
      const double d = s.g[i] * grad_scale + wd * s.w[i];
      s.v[i] = spec.momentum * s.v[i] + lr * local * d;
      s.w[i] -= spec.nesterov ? spec.momentum * s.v[i] + lr * local * d : s.v[i];
    }
  }
}

// Several slots of different sizes (tails of every length, one empty, one
// all-zero weight) with mixed decay/adapt flags, over three steps.
TEST(Lars, ManySlotsMatchReference) {
  const std::size_t sizes[] = {1, 7, 8, 9, 0, 1000, 4099, 64};
  for (bool nesterov : {false, true}) {
    for (bool clip : {false, true}) {
      for (double eta : {0.02, 20.0}) {  // 20: local_lr > 1, so clipping bites
        OptimizerSpec spec = lars_spec(eta, 5e-4, nesterov, clip);
        LarsOptimizer opt(spec);
        std::mt19937 rng(11);
        std::normal_distribution<float> normal(0.0f, 1.0f);
        std::vector<Buffers> buffers;
        std::vector<RefSlot> ref;
        for (std::size_t k = 0; k < std::size(sizes); ++k) {
          std::vector<float> w(sizes[k]), g(sizes[k]);
          for (float& x : w) x = k == 7 ? 0.0f : 0.1f * normal(rng);
          for (float& x : g) x = 1024.0f * normal(rng);  // loss-scaled
          buffers.emplace_back(w, g);
          ref.push_back({std::vector<double>(w.begin(), w.end()),
                         std::vector<double>(w.size(), 0.0), g, k % 2 == 0, k % 3 != 2});
        }
        std::vector<OptimSlot> slots;
        for (std::size_t k = 0; k < buffers.size(); ++k) {
          slots.push_back(buffers[k].slot(ref[k].decay, ref[k].adapt));
        }
        const std::vector<std::vector<float>> grads0 = [&] {
          std::vector<std::vector<float>> copy;
          for (const Buffers& b : buffers) copy.push_back(b.g);
          return copy;
        }();
        for (int step = 0; step < 3; ++step) {
          const float lr = 3.0f + static_cast<float>(step);
          opt.step(slots, lr, 1.0f / 1024.0f);
          reference_lars_step(ref, spec, lr, 1.0 / 1024.0);
        }
        for (std::size_t k = 0; k < buffers.size(); ++k) {
          EXPECT_EQ(buffers[k].g, grads0[k]) << "gradient written, slot " << k;
          for (std::size_t i = 0; i < sizes[k]; ++i) {
            EXPECT_NEAR(buffers[k].w[i], ref[k].w[i], 1e-5 * (1.0 + std::abs(ref[k].w[i])))
                << "slot " << k << " index " << i << " nesterov " << nesterov << " clip " << clip
                << " eta " << eta;
            EXPECT_NEAR(buffers[k].v[i], ref[k].v[i], 1e-5 * (1.0 + std::abs(ref[k].v[i])));
          }
        }
      }
    }
  }
}

// The norm and update passes are shared out over the threads in fixed
// chunks: results must be bitwise the same on any number of threads, and
// match the serial reference. Sizes are large enough to run in parallel.
TEST(Lars, ThreadCountDoesNotChangeResults) {
  const std::size_t sizes[] = {300001, 5, 70000, 4096 * 17 + 3};
  auto run = [&](int threads) {
    omp_set_num_threads(threads);
    LarsOptimizer opt(lars_spec(0.02, 5e-4));
    std::mt19937 rng(12);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<Buffers> buffers;
    for (std::size_t n : sizes) {
      std::vector<float> w(n), g(n);
      for (float& x : w) x = 0.1f * normal(rng);
      for (float& x : g) x = 512.0f * normal(rng);
      buffers.emplace_back(w, g);
    }
    std::vector<OptimSlot> slots;
    for (std::size_t k = 0; k < buffers.size(); ++k)
      slots.push_back(buffers[k].slot(k != 1, k != 1));
    for (int step = 0; step < 2; ++step) opt.step(slots, 2.0f, 1.0f / 512.0f);
    return std::pair{buffers, opt.last_local_lrs()};
  };
  const int saved = omp_get_max_threads();
  const auto [one, one_lrs] = run(1);
  const auto [two, two_lrs] = run(2);
  omp_set_num_threads(saved);
  EXPECT_EQ(one_lrs, two_lrs);
  for (std::size_t k = 0; k < one.size(); ++k) {
    EXPECT_EQ(one[k].w, two[k].w) << "slot " << k;
    EXPECT_EQ(one[k].v, two[k].v) << "slot " << k;
  }
}

}  // namespace
}  // namespace lb
