// Sequential and Residual wiring (built from BatchNorm, ReLU and Flatten so
// they do not depend on conv/linear), and the softmax cross-entropy loss.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "runtime/core/half.hpp"
#include "runtime/nn/batch_norm.hpp"
#include "runtime/nn/flatten.hpp"
#include "runtime/nn/relu.hpp"
#include "runtime/nn/residual.hpp"
#include "runtime/nn/sequential.hpp"
#include "runtime/nn/softmax_cross_entropy.hpp"
#include "tests/nn/gradcheck.hpp"

namespace lb {
namespace {

using testing::expect_gradients_match;
using testing::random_tensor;

const Context kTrain{Mode::train, Precision::fp32, 0};

std::unique_ptr<Sequential> bn_relu_flatten() {
  auto s = std::make_unique<Sequential>("net");
  s->emplace<BatchNorm>("net.bn", 3);
  s->emplace<ReLU>("net.relu");
  s->emplace<Flatten>("net.flatten");
  return s;
}

// Residual block "block": branch BN -> ReLU -> BN, identity or BN shortcut.
std::unique_ptr<Residual> bn_block(int channels, bool bn_shortcut) {
  auto branch = std::make_unique<Sequential>("block.branch");
  branch->emplace<BatchNorm>("block.bn1", channels);
  branch->emplace<ReLU>("block.relu");
  branch->emplace<BatchNorm>("block.bn2", channels);
  std::unique_ptr<Sequential> shortcut;
  if (bn_shortcut) {
    shortcut = std::make_unique<Sequential>("block.shortcut");
    shortcut->emplace<BatchNorm>("block.shortcut.bn", channels);
  }
  return std::make_unique<Residual>("block", std::move(branch), std::move(shortcut), true);
}

// Random γ and β so the gradient checks exercise them.
void randomise_params(Layer& layer, std::uint64_t seed) {
  for (Param* p : layer.params()) p->value = random_tensor(p->value.shape(), seed++, 0.8f);
}

bool is_half(float v) { return half_to_float(float_to_half(v)) == v; }

TEST(Sequential, ChainsShapesParamsAndRows) {
  auto net = bn_relu_flatten();
  Rng rng(1);
  net->init(rng);
  EXPECT_TRUE(net->is_composite());
  EXPECT_EQ(net->size(), 3u);
  EXPECT_EQ((*net)[1].kind(), "relu");
  EXPECT_EQ(net->output_shape({4, 3, 2, 2}), (Shape{4, 12}));
  EXPECT_EQ(net->param_count(), 6);
  EXPECT_EQ(net->forward_flops({4, 3, 2, 2}), 6.0 * 48 + 48);
  auto params = net->params();
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0]->name, "net.bn.weight");
  EXPECT_EQ(net->buffers().size(), 2u);
  std::vector<LayerInfo> rows;
  net->describe({4, 3, 2, 2}, rows);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].name, "net.bn");
  EXPECT_EQ(rows[0].params, 6);
  EXPECT_EQ(rows[1].output_shape, (Shape{4, 3, 2, 2}));
  EXPECT_EQ(rows[2].kind, "flatten");
  EXPECT_EQ(rows[2].output_shape, (Shape{4, 12}));
}

TEST(Sequential, ForwardMatchesChildrenInOrder) {
  auto net = bn_relu_flatten();
  Rng rng(1);
  net->init(rng);
  BatchNorm bn("bn", 3);
  bn.init(rng);
  ReLU relu("relu");
  const Tensor x = random_tensor({4, 3, 2, 2}, 3);
  const Tensor& y = net->forward(x, kTrain);
  const Tensor& want = relu.forward(bn.forward(x, kTrain), kTrain);
  ASSERT_EQ(y.shape(), (Shape{4, 12}));
  for (std::int64_t i = 0; i < want.numel(); ++i) EXPECT_EQ(y[i], want[i]);
}

TEST(Sequential, GradientsMatchFiniteDifferences) {
  auto net = bn_relu_flatten();
  Rng rng(1);
  net->init(rng);
  randomise_params(*net, 10);
  expect_gradients_match(*net, random_tensor({4, 3, 2, 2}, 4));
}

TEST(Sequential, NeedsInputGradGoesToFirstChildOnly) {
  auto net = bn_relu_flatten();
  net->set_needs_input_grad(false);
  EXPECT_FALSE(net->needs_input_grad());
  EXPECT_FALSE((*net)[0].needs_input_grad());
  EXPECT_TRUE((*net)[1].needs_input_grad());
  Sequential later("later");
  later.set_needs_input_grad(false);
  later.emplace<ReLU>("r");  // a child added afterwards is told too
  EXPECT_FALSE(later[0].needs_input_grad());
}

TEST(Sequential, EmptyChainIsIdentity) {
  Sequential s("empty");
  const Tensor x = random_tensor({2, 3}, 1);
  const Tensor& y = s.forward(x, kTrain);
  for (std::int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ(y[i], x[i]);
  EXPECT_EQ(s.output_shape({2, 3}), (Shape{2, 3}));
}

TEST(Residual, IdentityShortcutGradients) {
  auto block = bn_block(3, false);
  Rng rng(1);
  block->init(rng);
  randomise_params(*block, 20);
  EXPECT_EQ(block->kind(), "residual");
  EXPECT_TRUE(block->is_composite());
  EXPECT_EQ(block->params().size(), 4u);
  expect_gradients_match(*block, random_tensor({4, 3, 3, 3}, 5));
}

TEST(Residual, ProjectionShortcutGradients) {
  auto block = bn_block(2, true);
  Rng rng(1);
  block->init(rng);
  randomise_params(*block, 30);
  EXPECT_EQ(block->params().size(), 6u);
  EXPECT_EQ(block->buffers().size(), 6u);
  expect_gradients_match(*block, random_tensor({3, 2, 2, 2}, 6));
}

TEST(Residual, ForwardIsReluOfSum) {
  auto block = bn_block(3, false);
  Rng rng(1);
  block->init(rng);
  randomise_params(*block, 40);
  const Tensor x = random_tensor({2, 3, 2, 2}, 7);
  const Tensor branch = block->branch().forward(x, kTrain);
  const Tensor& y = block->forward(x, kTrain);
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    EXPECT_FLOAT_EQ(y[i], std::max(0.0f, branch[i] + x[i]));
  }
}

TEST(Residual, DescribeRowsAndCosts) {
  auto block = bn_block(3, true);
  const Shape in{4, 3, 5, 5};
  std::vector<LayerInfo> rows;
  block->describe(in, rows);
  std::vector<std::string> names;
  for (const auto& r : rows) names.push_back(r.name);
  EXPECT_EQ(names, (std::vector<std::string>{"block.bn1", "block.relu", "block.bn2",
                                             "block.shortcut.bn", "block.add"}));
  for (const auto& r : rows) EXPECT_EQ(r.output_shape, in) << r.name;
  EXPECT_EQ(rows.back().kind, "add");
  EXPECT_EQ(rows.back().params, 0);
  EXPECT_EQ(rows.back().forward_flops, 300.0);
  EXPECT_EQ(block->param_count(), 18);
  double sum = 0;
  for (const auto& r : rows) sum += r.forward_flops;
  EXPECT_EQ(block->forward_flops(in), sum);
}

TEST(Residual, LeavesAreVisitedInForwardOrder) {
  Sequential net("net");
  net.emplace<BatchNorm>("stem.bn", 3);
  net.add(bn_block(3, true));
  net.emplace<Flatten>("flatten");
  std::vector<std::string> names;
  for_each_leaf(net, [&](Layer& l) { names.push_back(l.name()); });
  EXPECT_EQ(names, (std::vector<std::string>{"stem.bn", "block.bn1", "block.relu", "block.bn2",
                                             "block.shortcut.bn", "flatten"}));
  const Sequential& cnet = net;
  int count = 0;
  for_each_leaf(cnet, [&](const Layer&) { ++count; });
  EXPECT_EQ(count, 6);
}

TEST(Residual, NoInputGradStillComputesParamGrads) {
  auto block = bn_block(3, false);
  Rng rng(1);
  block->init(rng);
  block->set_needs_input_grad(false);
  // Layers keep a pointer to their input until backward (layer.hpp), so it
  // must outlive backward: a temporary here was read after its scope (ASan).
  const Tensor x = random_tensor({2, 3, 2, 2}, 8);
  block->forward(x, kTrain);
  const Tensor& dx = block->backward(random_tensor({2, 3, 2, 2}, 9), kTrain);
  EXPECT_TRUE(dx.empty());
  double norm = 0;
  for (Param* p : block->params()) {
    for (float g : p->grad.span()) norm += std::abs(g);
  }
  EXPECT_GT(norm, 0.0);
}

TEST(Residual, Fp16RoundsSumAndGradient) {
  const Context ctx{Mode::train, Precision::fp16, 0};
  auto block = bn_block(3, false);
  Rng rng(1);
  block->init(rng);
  randomise_params(*block, 50);
  Tensor x = random_tensor({2, 3, 4, 4}, 10);
  round_to_half(x.span());
  for (float v : block->forward(x, ctx).span()) ASSERT_TRUE(is_half(v)) << v;
  Tensor dy = random_tensor({2, 3, 4, 4}, 11);
  round_to_half(dy.span());
  for (float v : block->backward(dy, ctx).span()) ASSERT_TRUE(is_half(v)) << v;
}

TEST(Residual, MismatchedShapesThrow) {
  auto branch = std::make_unique<Flatten>("flat");
  Residual r("r", std::move(branch), nullptr);
  EXPECT_THROW(r.output_shape({2, 3, 2, 2}), std::invalid_argument);
}

// Reference loss in double: lse − Σ target·z.
double reference_loss(const Tensor& z, const std::vector<std::int32_t>& labels, double eps) {
  const std::int64_t n = z.dim(0), k = z.dim(1);
  double total = 0;
  for (std::int64_t r = 0; r < n; ++r) {
    double m = z[r * k], s = 0;
    for (std::int64_t j = 1; j < k; ++j) m = std::max(m, double(z[r * k + j]));
    for (std::int64_t j = 0; j < k; ++j) s += std::exp(z[r * k + j] - m);
    const double lse = m + std::log(s);
    for (std::int64_t j = 0; j < k; ++j) {
      const double t = (j == labels[r] ? 1 - eps : 0) + eps / double(k);
      total += t * (lse - z[r * k + j]);
    }
  }
  return total / double(n);
}

TEST(SoftmaxCrossEntropy, UniformLogitsGiveLogK) {
  SoftmaxCrossEntropy ce;
  const Tensor z({4, 10}, 0.0f);
  const std::vector<std::int32_t> labels{0, 3, 9, 5};
  EXPECT_NEAR(ce.forward(z, labels), std::log(10.0), 1e-6);
  EXPECT_NEAR(ce.forward(z, labels, 0.1f), std::log(10.0), 1e-6);
}

TEST(SoftmaxCrossEntropy, HandValues) {
  SoftmaxCrossEntropy ce;
  Tensor z({1, 3});
  z[0] = 1, z[1] = 2, z[2] = 3;
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  const std::vector<std::int32_t> label{2};
  EXPECT_NEAR(ce.forward(z, label), lse - 3, 1e-6);
  // ε = 0.1: target (0.1/3, 0.1/3, 0.9 + 0.1/3).
  EXPECT_NEAR(ce.forward(z, label, 0.1f), lse - 0.9 * 3 - 0.1 / 3 * (1 + 2 + 3), 1e-6);
}

TEST(SoftmaxCrossEntropy, MatchesReferenceAndIsStableForLargeLogits) {
  SoftmaxCrossEntropy ce;
  Tensor z = random_tensor({8, 5}, 3, 4.0f);
  z[0] = 1000.0f;  // exp would overflow without the max shift
  const std::vector<std::int32_t> labels{0, 1, 2, 3, 4, 0, 1, 2};
  EXPECT_NEAR(ce.forward(z, labels, 0.2f), reference_loss(z, labels, 0.2), 1e-4);
  EXPECT_TRUE(std::isfinite(ce.forward(z, labels)));
}

TEST(SoftmaxCrossEntropy, GradientMatchesFiniteDifferences) {
  for (float eps : {0.0f, 0.1f}) {
    SoftmaxCrossEntropy ce;
    Tensor z = random_tensor({4, 6}, 5, 2.0f);
    const std::vector<std::int32_t> labels{5, 0, 2, 2};
    ce.forward(z, labels, eps);
    const Tensor grad = ce.backward(1.0f);
    for (std::int64_t i = 0; i < z.numel(); ++i) {
      const float saved = z[i];
      const double h = 1e-3;
      z[i] = saved + float(h);
      const double plus = reference_loss(z, labels, eps);
      z[i] = saved - float(h);
      const double minus = reference_loss(z, labels, eps);
      z[i] = saved;
      EXPECT_NEAR(grad[i], (plus - minus) / (2 * h), 1e-4) << "eps " << eps << " index " << i;
    }
  }
}

TEST(SoftmaxCrossEntropy, LossScaleMultipliesGradient) {
  SoftmaxCrossEntropy ce;
  const Tensor z = random_tensor({3, 4}, 6);
  const std::vector<std::int32_t> labels{1, 2, 3};
  ce.forward(z, labels);
  const Tensor g1 = ce.backward(1.0f);
  const Tensor& g128 = ce.backward(128.0f);
  for (std::int64_t i = 0; i < z.numel(); ++i) EXPECT_FLOAT_EQ(g128[i], 128.0f * g1[i]);
  // Each row of softmax − onehot sums to zero.
  for (int r = 0; r < 3; ++r) {
    double s = 0;
    for (int j = 0; j < 4; ++j) s += g1[r * 4 + j];
    EXPECT_NEAR(s, 0.0, 1e-6);
  }
}

TEST(SoftmaxCrossEntropy, CountsCorrectPredictions) {
  SoftmaxCrossEntropy ce;
  Tensor z({3, 3}, 0.0f);
  z[0 * 3 + 1] = 5;  // predicts 1
  z[1 * 3 + 2] = 5;  // predicts 2
  z[2 * 3 + 0] = 5;  // predicts 0
  const std::vector<std::int32_t> labels{1, 2, 1};
  ce.forward(z, labels);
  EXPECT_EQ(ce.correct(), 2);
}

TEST(SoftmaxCrossEntropy, RejectsBadInput) {
  SoftmaxCrossEntropy ce;
  const Tensor z({2, 3});
  EXPECT_THROW(ce.forward(z, std::vector<std::int32_t>{0, 3}), std::invalid_argument);
  EXPECT_THROW(ce.forward(z, std::vector<std::int32_t>{-1, 0}), std::invalid_argument);
  EXPECT_THROW(ce.forward(z, std::vector<std::int32_t>{0}), std::invalid_argument);
  EXPECT_THROW(ce.forward(Tensor({6}), std::vector<std::int32_t>{0}), std::invalid_argument);
  EXPECT_THROW(SoftmaxCrossEntropy().backward(1.0f), std::logic_error);
}

}  // namespace
}  // namespace lb
