// SGD and Nesterov SGD against values computed by hand (PyTorch convention).
#include "runtime/optim/sgd.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <vector>

#include "runtime/core/errors.hpp"
#include "runtime/core/spec.hpp"
#include "runtime/optim/optimizer.hpp"

namespace lb {
namespace {

// One parameter tensor with its gradient and velocity buffers.
struct Buffers {
  std::vector<float> w, g, v;
  Buffers(std::vector<float> weight, std::vector<float> grad)
      : w(std::move(weight)), g(std::move(grad)), v(w.size(), 0.0f) {}
  OptimSlot slot(bool decay, bool adapt = true) { return OptimSlot{w, g, v, decay, adapt}; }
};

OptimizerSpec sgd_spec(bool nesterov) {
  OptimizerSpec spec;
  spec.name = OptimizerKind::sgd;
  spec.momentum = 0.9;
  spec.nesterov = nesterov;
  spec.weight_decay = 0.1;
  return spec;
}

void expect_values(const std::vector<float>& actual, const std::vector<float>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    EXPECT_NEAR(actual[i], expected[i], 1e-5f) << "index " << i;
  }
}

// w = [1, -2], loss-scaled gradient [2, 4] with grad_scale 1/4 (true gradient
// [0.5, 1]), m = 0.9, wd = 0.1, lr = 0.5.
//   step 1: d = [0.6, 0.8]      v = [0.6, 0.8]      w = [0.7, -2.4]
//   step 2: d = [0.57, 0.76]    v = [1.11, 1.48]    w = [0.145, -3.14]
//   step 3: d = [0.5145, 0.686] v = [1.5135, 2.018] w = [-0.61175, -4.149]
TEST(Sgd, MomentumWithWeightDecayAndGradScale) {
  SgdOptimizer opt(sgd_spec(false));
  Buffers b({1.0f, -2.0f}, {2.0f, 4.0f});
  const OptimSlot slots[] = {b.slot(true)};
  opt.step(slots, 0.5f, 0.25f);
  expect_values(b.w, {0.7f, -2.4f});
  expect_values(b.v, {0.6f, 0.8f});
  opt.step(slots, 0.5f, 0.25f);
  expect_values(b.w, {0.145f, -3.14f});
  expect_values(b.v, {1.11f, 1.48f});
  opt.step(slots, 0.5f, 0.25f);
  expect_values(b.w, {-0.61175f, -4.149f});
  expect_values(b.v, {1.5135f, 2.018f});
}

// Same without decay: d = [0.5, 1] every step.
//   v = [0.5, 1], [0.95, 1.9], [1.355, 2.71]
//   w = [0.75, -2.5], [0.275, -3.45], [-0.4025, -4.805]
TEST(Sgd, MomentumWithoutWeightDecay) {
  SgdOptimizer opt(sgd_spec(false));
  Buffers b({1.0f, -2.0f}, {2.0f, 4.0f});
  const OptimSlot slots[] = {b.slot(false)};
  opt.step(slots, 0.5f, 0.25f);
  expect_values(b.w, {0.75f, -2.5f});
  opt.step(slots, 0.5f, 0.25f);
  expect_values(b.w, {0.275f, -3.45f});
  expect_values(b.v, {0.95f, 1.9f});
  opt.step(slots, 0.5f, 0.25f);
  expect_values(b.w, {-0.4025f, -4.805f});
  expect_values(b.v, {1.355f, 2.71f});
}

// Nesterov, same setting with decay: w -= lr * (d + m * v).
//   step 1: v = [0.6, 0.8], d + m v = [1.14, 1.52]             w = [0.43, -2.76]
//   step 2: d = [0.543, 0.724], v = [1.083, 1.444],
//           d + m v = [1.5177, 2.0236]                         w = [-0.32885, -3.7718]
TEST(Sgd, Nesterov) {
  SgdOptimizer opt(sgd_spec(true));
  Buffers b({1.0f, -2.0f}, {2.0f, 4.0f});
  const OptimSlot slots[] = {b.slot(true)};
  opt.step(slots, 0.5f, 0.25f);
  expect_values(b.w, {0.43f, -2.76f});
  expect_values(b.v, {0.6f, 0.8f});
  opt.step(slots, 0.5f, 0.25f);
  expect_values(b.w, {-0.32885f, -3.7718f});
  expect_values(b.v, {1.083f, 1.444f});
}

// The learning rate of each call applies to that step only; two slots, one
// decaying and one not, are updated independently in one call.
TEST(Sgd, PerStepLrAndMixedSlots) {
  OptimizerSpec spec = sgd_spec(false);
  spec.momentum = 0.5;
  SgdOptimizer opt(spec);
  Buffers a({2.0f}, {1.0f});
  Buffers b({2.0f, 3.0f, 4.0f}, {1.0f, 1.0f, 1.0f});
  const OptimSlot slots[] = {a.slot(true), b.slot(false)};
  // a: d = 1 + 0.2 = 1.2, v = 1.2, w = 2 - 0.1*1.2 = 1.88
  // b: d = 1, v = 1, w -= 0.1
  opt.step(slots, 0.1f, 1.0f);
  expect_values(a.w, {1.88f});
  expect_values(b.w, {1.9f, 2.9f, 3.9f});
  // a: d = 1 + 0.188 = 1.188, v = 0.6 + 1.188 = 1.788, w = 1.88 - 0.01*1.788 = 1.86212
  // b: v = 1.5, w -= 0.015
  opt.step(slots, 0.01f, 1.0f);
  expect_values(a.w, {1.86212f});
  expect_values(b.w, {1.885f, 2.885f, 3.885f});
}

TEST(Sgd, GradientIsNeverWritten) {
  for (bool nesterov : {false, true}) {
    SgdOptimizer opt(sgd_spec(nesterov));
    std::vector<float> w(1037), g(1037);
    for (std::size_t i = 0; i < w.size(); ++i) {
      w[i] = 0.01f * static_cast<float>(i % 17) - 0.08f;
      g[i] = 64.0f * static_cast<float>(i % 5) - 100.0f;
    }
    const std::vector<float> g0 = g;
    std::vector<float> v(w.size(), 0.0f);
    const OptimSlot slots[] = {{w, g, v, true, true}};
    opt.step(slots, 0.1f, 1.0f / 128.0f);
    opt.step(slots, 0.1f, 1.0f / 128.0f);
    EXPECT_EQ(g, g0);
  }
}

TEST(Sgd, RejectsMismatchedSlot) {
  SgdOptimizer opt(sgd_spec(false));
  std::vector<float> w(4), g(3), v(4);
  const OptimSlot slots[] = {{w, g, v, true, true}};
  EXPECT_THROW(opt.step(slots, 0.1f, 1.0f), std::invalid_argument);
}

TEST(MakeOptimizer, ByName) {
  OptimizerSpec spec;
  spec.name = OptimizerKind::sgd;
  EXPECT_EQ(make_optimizer(spec)->name(), "sgd");
  spec.name = OptimizerKind::lars;
  EXPECT_EQ(make_optimizer(spec)->name(), "lars");
  // An unknown name cannot reach make_optimizer: the spec parser rejects it.
  EXPECT_THROW(parse_spec({{"optimizer", {{"name", "adam"}}}}), SpecError);
}

}  // namespace
}  // namespace lb
