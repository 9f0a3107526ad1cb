// Why fp16 training needs loss scaling: gradients below binary16's smallest
// subnormal (2^-24) are stored as zero; scaling the loss first keeps them.
#include <gtest/gtest.h>

#include "runtime/core/half.hpp"
#include "runtime/nn/linear.hpp"
#include "runtime/train/training_state.hpp"

namespace lb {
namespace {

struct SmallGradientCase {
  Linear layer{"fc", 64, 8, true};
  Tensor x{Shape{4, 64}};
  Tensor dy{Shape{4, 8}};

  SmallGradientCase() {
    Rng rng(7);
    layer.init(rng);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (auto& v : x.span()) v = half_to_float(float_to_half(normal(rng)));
    // The loss gradient reaching the classifier late in training: ~1e-8.
    for (auto& v : dy.span()) v = 1e-8f * (1.0f + normal(rng) * 0.1f);
  }

  // Weight gradient after a backward pass with dy multiplied by `scale`,
  // divided back by `scale` in fp32 as the optimizer does.
  std::vector<float> weight_grad(Precision precision, float scale) {
    const Context ctx{Mode::train, precision, 1};
    layer.forward(x, ctx);
    Tensor scaled = dy;
    for (auto& v : scaled.span()) v *= scale;
    if (precision == Precision::fp16) round_to_half(scaled.span());
    layer.backward(scaled, ctx);
    Param& w = *layer.params()[0];
    if (precision == Precision::fp16) round_to_half(w.grad.span());  // stored as half
    std::vector<float> g(w.grad.span().begin(), w.grad.span().end());
    for (auto& v : g) v /= scale;
    return g;
  }
};

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, double(std::abs(x)));
  return m;
}

TEST(LossScaling, SmallGradientsFlushToZeroInFp16WithoutScaling) {
  SmallGradientCase c;
  const auto reference = c.weight_grad(Precision::fp32, 1.0f);
  ASSERT_GT(max_abs(reference), 1e-8);
  EXPECT_EQ(max_abs(c.weight_grad(Precision::fp16, 1.0f)), 0.0);
}

TEST(LossScaling, ScaledGradientsSurviveAndMatchFp32AfterUnscaling) {
  SmallGradientCase c;
  const auto reference = c.weight_grad(Precision::fp32, 1.0f);
  const auto scaled = c.weight_grad(Precision::fp16, 65536.0f);
  ASSERT_EQ(reference.size(), scaled.size());
  const double tolerance = 2e-2 * max_abs(reference);
  for (std::size_t i = 0; i < reference.size(); ++i) {
    EXPECT_NEAR(scaled[i], reference[i], tolerance) << "index " << i;
  }
}

}  // namespace
}  // namespace lb
