// BatchNorm, ReLU, Dropout and Flatten: forward against naive references,
// gradients against finite differences, fp16 rounding of leaf outputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "runtime/core/half.hpp"
#include "runtime/nn/batch_norm.hpp"
#include "runtime/nn/dropout.hpp"
#include "runtime/nn/flatten.hpp"
#include "runtime/nn/relu.hpp"
#include "tests/nn/gradcheck.hpp"

namespace lb {
namespace {

using testing::expect_gradients_match;
using testing::random_tensor;

Context train_ctx(std::uint64_t seed = 0) { return {Mode::train, Precision::fp32, seed}; }
Context eval_ctx() { return {Mode::eval, Precision::fp32, 0}; }

// Per-channel mean and biased variance of an (N, C, ...) tensor, in double.
struct Stats {
  std::vector<double> mean, var;
};
Stats channel_stats(const Tensor& x) {
  const std::int64_t n = x.dim(0), c = x.dim(1), inner = x.numel() / (n * c);
  Stats s{std::vector<double>(c, 0.0), std::vector<double>(c, 0.0)};
  for (std::int64_t ch = 0; ch < c; ++ch) {
    double sum = 0, sq = 0;
    for (std::int64_t b = 0; b < n; ++b) {
      for (std::int64_t i = 0; i < inner; ++i) {
        const double v = x[(b * c + ch) * inner + i];
        sum += v;
        sq += v * v;
      }
    }
    const double m = double(n * inner);
    s.mean[ch] = sum / m;
    s.var[ch] = sq / m - s.mean[ch] * s.mean[ch];
  }
  return s;
}

// y = γ (x − mean) / sqrt(var + eps) + β with the given statistics.
void expect_normalized(const Tensor& x, const Tensor& y, const std::vector<double>& mean,
                       const std::vector<double>& var, const Tensor& gamma, const Tensor& beta,
                       double eps, double tol) {
  const std::int64_t n = x.dim(0), c = x.dim(1), inner = x.numel() / (n * c);
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    const std::int64_t ch = (i / inner) % c;
    const double want = gamma[ch] * (x[i] - mean[ch]) / std::sqrt(var[ch] + eps) + beta[ch];
    ASSERT_NEAR(y[i], want, tol) << "index " << i;
  }
}

bool is_half(float v) { return half_to_float(float_to_half(v)) == v || std::isnan(v); }

TEST(BatchNorm, ParamsAndMetadata) {
  BatchNorm bn("bn", 8);
  Rng rng(1);
  bn.init(rng);
  EXPECT_EQ(bn.kind(), "batch_norm");
  EXPECT_EQ(bn.param_count(), 16);
  EXPECT_EQ(bn.output_shape({4, 8, 5, 5}), (Shape{4, 8, 5, 5}));
  EXPECT_EQ(bn.forward_flops({4, 8, 5, 5}), 6.0 * 800);
  EXPECT_THROW(bn.output_shape({4, 7, 5, 5}), std::invalid_argument);
  auto params = bn.params();
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0]->name, "bn.weight");
  EXPECT_EQ(params[1]->name, "bn.bias");
  for (Param* p : params) {
    EXPECT_TRUE(p->is_bias_or_norm);
    EXPECT_FALSE(p->half_storage);
    EXPECT_EQ(p->value.shape(), Shape{8});
  }
  for (std::int64_t i = 0; i < 8; ++i) {
    EXPECT_EQ(params[0]->value[i], 1.0f);
    EXPECT_EQ(params[1]->value[i], 0.0f);
  }
  auto buffers = bn.buffers();
  ASSERT_EQ(buffers.size(), 2u);
  EXPECT_EQ((*buffers[0])[0], 0.0f);  // running mean
  EXPECT_EQ((*buffers[1])[0], 1.0f);  // running var
}

TEST(BatchNorm, TrainModeNormalisesPerChannel) {
  BatchNorm bn("bn", 3);
  Rng rng(1);
  bn.init(rng);
  Tensor x = random_tensor({4, 3, 5, 6}, 7, 2.0f);
  for (std::int64_t i = 0; i < x.numel(); ++i) x[i] += float((i / 30) % 3);  // channel offsets
  const Tensor& y = bn.forward(x, train_ctx());
  const Stats ys = channel_stats(y);
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(ys.mean[c], 0.0, 1e-5);
    EXPECT_NEAR(ys.var[c], 1.0, 1e-3);  // var/(var+eps) ≈ 1
  }
  const Stats xs = channel_stats(x);
  expect_normalized(x, y, xs.mean, xs.var, bn.params()[0]->value, bn.params()[1]->value, 1e-5,
                    1e-4);
}

TEST(BatchNorm, TrainModeWithAffineMatchesReference) {
  BatchNorm bn("bn", 5);
  Rng rng(1);
  bn.init(rng);
  bn.params()[0]->value = random_tensor({5}, 3);
  bn.params()[1]->value = random_tensor({5}, 4);
  const Tensor x = random_tensor({6, 5}, 8, 3.0f);  // 2-D input
  const Tensor& y = bn.forward(x, train_ctx());
  const Stats xs = channel_stats(x);
  expect_normalized(x, y, xs.mean, xs.var, bn.params()[0]->value, bn.params()[1]->value, 1e-5,
                    1e-4);
}

TEST(BatchNorm, RunningStatisticsFollowPyTorch) {
  BatchNorm bn("bn", 2, /*momentum=*/0.1);
  Rng rng(1);
  bn.init(rng);
  // Channel 0 sees {1, 3}: mean 2, unbiased var 2. Channel 1 sees {2, 6}:
  // mean 4, unbiased var 8.
  Tensor x({2, 2});
  x[0] = 1, x[1] = 2, x[2] = 3, x[3] = 6;
  bn.forward(x, train_ctx());
  EXPECT_NEAR(bn.running_mean()[0], 0.9 * 0 + 0.1 * 2, 1e-6);
  EXPECT_NEAR(bn.running_mean()[1], 0.9 * 0 + 0.1 * 4, 1e-6);
  EXPECT_NEAR(bn.running_var()[0], 0.9 * 1 + 0.1 * 2, 1e-6);
  EXPECT_NEAR(bn.running_var()[1], 0.9 * 1 + 0.1 * 8, 1e-6);
  EXPECT_NEAR(bn.batch_var()[0], 1.0, 1e-6);  // normalisation uses the biased variance
  bn.forward(x, train_ctx());
  EXPECT_NEAR(bn.running_mean()[0], 0.9 * 0.2 + 0.1 * 2, 1e-6);
  EXPECT_NEAR(bn.running_var()[1], 0.9 * 1.7 + 0.1 * 8, 1e-5);
}

// Precise BatchNorm: while recalibrating, the running statistics are the plain
// average of the batches seen, whatever they were before; afterwards the
// exponential average resumes from there.
TEST(BatchNorm, RecalibrationAveragesTheBatchesSeen) {
  BatchNorm bn("bn", 1, /*momentum=*/0.1);
  Rng rng(1);
  bn.init(rng);
  Tensor a({2, 1}), b({2, 1});
  a[0] = 1, a[1] = 3;                                      // mean 2, unbiased var 2
  b[0] = 10, b[1] = 14;                                    // mean 12, unbiased var 8
  for (int i = 0; i < 5; ++i) bn.forward(b, train_ctx());  // some exponential history
  bn.begin_recalibration();
  bn.forward(a, train_ctx());
  EXPECT_NEAR(bn.running_mean()[0], 2.0, 1e-6);
  bn.forward(b, train_ctx());
  bn.forward(b, train_ctx());
  EXPECT_NEAR(bn.running_mean()[0], (2.0 + 12 + 12) / 3, 1e-5);
  EXPECT_NEAR(bn.running_var()[0], (2.0 + 8 + 8) / 3, 1e-5);
  bn.end_recalibration();
  bn.forward(a, train_ctx());
  EXPECT_NEAR(bn.running_mean()[0], 0.9 * (26.0 / 3) + 0.1 * 2, 1e-5);
}

TEST(BatchNorm, EvalModeUsesRunningStatistics) {
  BatchNorm bn("bn", 3, 0.1, 1e-3);
  Rng rng(1);
  bn.init(rng);
  bn.params()[0]->value = random_tensor({3}, 3);
  bn.params()[1]->value = random_tensor({3}, 4);
  auto buffers = bn.buffers();
  const std::vector<double> mean{0.5, -1.0, 2.0}, var{0.25, 4.0, 1.5};
  for (int c = 0; c < 3; ++c) {
    (*buffers[0])[c] = float(mean[c]);
    (*buffers[1])[c] = float(var[c]);
  }
  const Tensor x = random_tensor({2, 3, 4, 4}, 9);
  const Tensor y = bn.forward(x, eval_ctx());
  expect_normalized(x, y, mean, var, bn.params()[0]->value, bn.params()[1]->value, 1e-3, 1e-4);
  EXPECT_EQ(bn.running_mean()[0], 0.5f);  // eval leaves the running statistics alone
  EXPECT_EQ(bn.running_var()[1], 4.0f);
}

TEST(BatchNorm, GradientsMatchFiniteDifferences4D) {
  BatchNorm bn("bn", 3);
  Rng rng(1);
  bn.init(rng);
  bn.params()[0]->value = random_tensor({3}, 5);
  bn.params()[1]->value = random_tensor({3}, 6);
  expect_gradients_match(bn, random_tensor({4, 3, 3, 3}, 11));
}

TEST(BatchNorm, GradientsMatchFiniteDifferences2D) {
  BatchNorm bn("bn", 6);
  Rng rng(1);
  bn.init(rng);
  bn.params()[0]->value = random_tensor({6}, 5);
  bn.params()[1]->value = random_tensor({6}, 6);
  expect_gradients_match(bn, random_tensor({8, 6}, 12));
}

TEST(BatchNorm, EvalModeGradientsMatchFiniteDifferences) {
  BatchNorm bn("bn", 3);
  Rng rng(1);
  bn.init(rng);
  bn.params()[0]->value = random_tensor({3}, 5);
  testing::GradCheckOptions opt;
  opt.ctx = eval_ctx();
  expect_gradients_match(bn, random_tensor({2, 3, 2, 2}, 13), opt);
}

TEST(BatchNorm, ZeroInitGammaGivesZeroOutput) {
  BatchNorm bn("bn", 4, 0.1, 1e-5, /*zero_init_gamma=*/true);
  Rng rng(1);
  bn.init(rng);
  const Tensor& y = bn.forward(random_tensor({3, 4, 2, 2}, 2), train_ctx());
  for (float v : y.span()) EXPECT_EQ(v, 0.0f);
  EXPECT_EQ(bn.params()[0]->value[0], 0.0f);
}

TEST(BatchNorm, RejectsSingleValuePerChannelInTraining) {
  BatchNorm bn("bn", 4);
  Rng rng(1);
  bn.init(rng);
  EXPECT_THROW(bn.forward(Tensor({1, 4}), train_ctx()), std::invalid_argument);
  EXPECT_NO_THROW(bn.forward(Tensor({1, 4}), eval_ctx()));
}

// BatchNorm with fuse_relu() must equal BatchNorm then ReLU, in plain and in
// blocked (nChw16c) layouts, forward and backward.
TEST(BatchNorm, FusedReluMatchesBatchNormThenRelu) {
  for (Layout layout : {Layout::plain, Layout::nChw16c}) {
    BatchNorm fused("fused", 16), bn("bn", 16);
    fused.fuse_relu("fused.relu");
    ReLU relu("relu");
    Rng rng(1);
    fused.init(rng);
    bn.init(rng);
    for (BatchNorm* b : {&fused, &bn}) {
      b->params()[0]->value = random_tensor({16}, 5);
      b->params()[1]->value = random_tensor({16}, 6);
    }
    Tensor x;
    convert_layout(random_tensor({4, 16, 3, 3}, 7), layout, x);
    const Tensor dy = random_tensor({4, 16, 3, 3}, 8);
    const Tensor y = fused.forward(x, train_ctx());
    const Tensor dx = fused.backward(dy, train_ctx());
    const Tensor& y_ref = relu.forward(bn.forward(x, train_ctx()), train_ctx());
    const Tensor dx_ref = bn.backward(relu.backward(dy, train_ctx()), train_ctx());
    for (std::int64_t i = 0; i < y.numel(); ++i) {
      ASSERT_NEAR(y[i], y_ref[i], 1e-5) << "output " << i;
      ASSERT_NEAR(dx[i], dx_ref[i], 1e-4) << "input gradient " << i;
    }
    for (int k = 0; k < 2; ++k) {
      for (std::int64_t c = 0; c < 16; ++c) {
        EXPECT_NEAR(fused.params()[k]->grad[c], bn.params()[k]->grad[c], 1e-4);
      }
    }
  }
}

// Ghost batch normalisation: each group of the batch is normalised exactly
// as a separate BatchNorm over that group would; γ's and β's gradients are
// the sums over the groups; the running statistics follow the whole batch as
// without groups. In both layouts, with and without the fused ReLU (whose
// mask is per group).
TEST(BatchNorm, GhostBatchesMatchSeparateBatchNormsPerGroup) {
  constexpr std::int64_t kBatch = 6, kGhost = 2, kChannels = 16;
  const Shape shape{kBatch, kChannels, 3, 3}, group_shape{kGhost, kChannels, 3, 3};
  const std::int64_t group_size = numel(group_shape);
  for (Layout layout : {Layout::plain, Layout::nChw16c}) {
    for (bool relu : {false, true}) {
      SCOPED_TRACE(std::string(relu ? "fused ReLU, " : "") +
                   (layout == Layout::plain ? "plain" : "nChw16c"));
      BatchNorm ghost("ghost", kChannels), whole("whole", kChannels), ref("ref", kChannels);
      Rng rng(1);
      for (BatchNorm* b : {&ghost, &whole, &ref}) {
        if (relu) b->fuse_relu(b->name() + ".relu");
        b->init(rng);
        b->params()[0]->value = random_tensor({kChannels}, 5);
        b->params()[1]->value = random_tensor({kChannels}, 6);
      }
      const Tensor x_plain = random_tensor(shape, 7, 2.0f), dy = random_tensor(shape, 8);
      Tensor x;
      convert_layout(x_plain, layout, x);
      Context ctx = train_ctx();
      ctx.bn_ghost_batch = kGhost;
      const Tensor y = ghost.forward(x, ctx);
      const Tensor dx = ghost.backward(dy, ctx);
      std::vector<double> dgamma(kChannels, 0.0), dbeta(kChannels, 0.0);
      for (std::int64_t g = 0; g < kBatch / kGhost; ++g) {
        Tensor xg(group_shape), dyg(group_shape);
        std::copy_n(x_plain.data() + g * group_size, group_size, xg.data());
        std::copy_n(dy.data() + g * group_size, group_size, dyg.data());
        const Tensor yg = ref.forward(xg, train_ctx());
        const Tensor& dxg = ref.backward(dyg, train_ctx());
        for (std::int64_t i = 0; i < group_size; ++i) {
          ASSERT_NEAR(y[g * group_size + i], yg[i], 1e-5) << "output " << g * group_size + i;
          ASSERT_NEAR(dx[g * group_size + i], dxg[i], 1e-4)
              << "input gradient " << g * group_size + i;
        }
        for (std::int64_t c = 0; c < kChannels; ++c) {
          dgamma[c] += ref.params()[0]->grad[c];
          dbeta[c] += ref.params()[1]->grad[c];
        }
      }
      whole.forward(x, train_ctx());
      for (std::int64_t c = 0; c < kChannels; ++c) {
        EXPECT_NEAR(ghost.params()[0]->grad[c], dgamma[c], 1e-4) << "dγ " << c;
        EXPECT_NEAR(ghost.params()[1]->grad[c], dbeta[c], 1e-4) << "dβ " << c;
        EXPECT_NEAR(ghost.batch_mean()[c], whole.batch_mean()[c], 1e-5) << "mean " << c;
        EXPECT_NEAR(ghost.batch_var()[c], whole.batch_var()[c], 1e-4) << "var " << c;
        EXPECT_NEAR(ghost.running_mean()[c], whole.running_mean()[c], 1e-6) << "running mean " << c;
        EXPECT_NEAR(ghost.running_var()[c], whole.running_var()[c], 1e-5) << "running var " << c;
      }
    }
  }
}

TEST(BatchNorm, GhostBatchIgnoredInEvalAndCheckedInTraining) {
  BatchNorm ghost("ghost", 3), whole("whole", 3);
  Rng rng(1);
  ghost.init(rng);
  whole.init(rng);
  const Tensor x = random_tensor({6, 3, 2, 2}, 9, 2.0f);
  Context eval = eval_ctx();
  eval.bn_ghost_batch = 2;
  const Tensor y = ghost.forward(x, eval);
  const Tensor& y_ref = whole.forward(x, eval_ctx());
  for (std::int64_t i = 0; i < y.numel(); ++i) ASSERT_EQ(y[i], y_ref[i]) << i;
  Context train = train_ctx();
  train.bn_ghost_batch = 4;  // does not divide 6
  try {
    ghost.forward(x, train);
    FAIL() << "a batch of 6 split into ghost batches of 4";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("ghost batches of 4"), std::string::npos) << e.what();
  }
  train.bn_ghost_batch = 6;  // the whole batch: the same as no groups
  const Tensor y_whole = ghost.forward(x, train);
  const Tensor& y_whole_ref = whole.forward(x, train_ctx());
  for (std::int64_t i = 0; i < y_whole.numel(); ++i) ASSERT_EQ(y_whole[i], y_whole_ref[i]) << i;
}

// Moves the values of x whose pre-ReLU output γ·x̂ + β lies near the kink
// (where finite differences are meaningless) away from it. x̂ uses the batch
// statistics in training, the initial running ones (0, 1) in evaluation.
Tensor away_from_kink(Tensor x, const Tensor& gamma, const Tensor& beta, bool training) {
  const std::int64_t n = x.dim(0), c = x.dim(1), inner = x.numel() / (n * c);
  for (int round = 0; round < 20; ++round) {
    const Stats s = training ? channel_stats(x)
                             : Stats{std::vector<double>(c, 0.0), std::vector<double>(c, 1.0)};
    bool moved = false;
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      const std::int64_t ch = (i / inner) % c;
      const double sd = std::sqrt(s.var[ch] + 1e-5);
      const double pre = gamma[ch] * (x[i] - s.mean[ch]) / sd + beta[ch];
      if (std::abs(pre) >= 0.3) continue;
      x[i] += float((pre >= 0 ? 0.6 : -0.6) * sd / gamma[ch]);
      moved = true;
    }
    if (!moved) return x;
  }
  ADD_FAILURE() << "could not move the input away from the ReLU kink";
  return x;
}

TEST(BatchNorm, FusedReluGradientsMatchFiniteDifferences) {
  for (Mode mode : {Mode::train, Mode::eval}) {
    BatchNorm bn("bn", 3);
    bn.fuse_relu("bn.relu");
    Rng rng(1);
    bn.init(rng);
    Tensor& gamma = bn.params()[0]->value;
    Tensor& beta = bn.params()[1]->value;
    gamma[0] = 1.3f, gamma[1] = -0.7f, gamma[2] = 0.9f;
    beta[0] = 0.1f, beta[1] = -0.2f, beta[2] = 0.3f;
    const Tensor x =
        away_from_kink(random_tensor({4, 3, 3, 3}, 11), gamma, beta, mode == Mode::train);
    testing::GradCheckOptions opt;
    opt.ctx = {mode, Precision::fp32, 0};
    opt.step = 1e-3;  // small against the 0.3 margin from the kink
    expect_gradients_match(bn, x, opt);
  }
}

TEST(BatchNorm, FusedReluKeepsOverflowVisibleAndListsTheReluRow) {
  BatchNorm bn("block.bn", 16);
  bn.fuse_relu("block.relu");
  Rng rng(1);
  bn.init(rng);
  Tensor x;
  convert_layout(random_tensor({2, 16, 3, 3}, 3), Layout::nChw16c, x);
  x[5] = std::numeric_limits<float>::infinity();  // channel 5 of image 0, pixel 0
  const Tensor& y = bn.forward(x, train_ctx());
  for (std::int64_t i = 0; i < 2 * 9; ++i) {
    EXPECT_TRUE(std::isnan(y[(i / 9) * 16 * 9 + (i % 9) + 5 * 9])) << i;  // plain NCHW
  }
  EXPECT_FALSE(std::isnan(y[0]));
  std::vector<LayerInfo> rows;
  bn.describe({2, 16, 3, 3}, rows);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].name, "block.relu");
  EXPECT_EQ(rows[1].kind, "relu");
}

TEST(Layout, BlockedRoundTripAndPlainResults) {
  const Tensor x = random_tensor({2, 32, 3, 5}, 9);
  for (Layout layout : {Layout::nChw8c, Layout::nChw16c}) {
    Tensor blocked;
    convert_layout(x, layout, blocked);
    EXPECT_EQ(blocked.layout(), layout);
    // Channel c of pixel (0, 0) of image 0 sits at c % block within its group.
    EXPECT_EQ(blocked[1], x[1 * 15]);
    const Tensor back = to_plain(blocked);
    for (std::int64_t i = 0; i < x.numel(); ++i) ASSERT_EQ(back[i], x[i]);
    // Layers accept blocked inputs and return plain results to direct callers.
    ReLU relu("relu");
    const Tensor& y = relu.forward(blocked, train_ctx());
    EXPECT_EQ(y.layout(), Layout::plain);
    for (std::int64_t i = 0; i < x.numel(); ++i) ASSERT_EQ(y[i], std::max(x[i], 0.0f));
  }
  EXPECT_THROW(Tensor().reshape({2, 12, 3, 3}, Layout::nChw8c), std::invalid_argument);
}

TEST(ReLU, ForwardAndGradient) {
  ReLU relu("relu");
  EXPECT_EQ(relu.kind(), "relu");
  Tensor x = random_tensor({3, 4, 5}, 21);
  for (auto& v : x.span()) v += v < 0 ? -0.1f : 0.1f;  // keep away from the kink
  const Tensor& y = relu.forward(x, train_ctx());
  for (std::int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ(y[i], std::max(x[i], 0.0f));
  expect_gradients_match(relu, x);
}

TEST(ReLU, PropagatesNaN) {
  ReLU relu("relu");
  Tensor x({3});
  x[0] = std::nanf(""), x[1] = -1, x[2] = 2;
  const Tensor& y = relu.forward(x, train_ctx());
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[2], 2.0f);
}

TEST(Dropout, EvalIsIdentity) {
  Dropout d("drop", 0.5);
  EXPECT_EQ(d.kind(), "dropout");
  const Tensor x = random_tensor({4, 10}, 3);
  const Tensor& y = d.forward(x, eval_ctx());
  for (std::int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ(y[i], x[i]);
  const Tensor& dx = d.backward(x, eval_ctx());
  for (std::int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ(dx[i], x[i]);
}

TEST(Dropout, TrainMaskFractionAndScale) {
  const double p = 0.3;
  Dropout d("drop", p);
  const Tensor x({1000, 1000}, 1.0f);
  const Tensor& y = d.forward(x, train_ctx(42));
  std::int64_t dropped = 0;
  for (float v : y.span()) {
    if (v == 0.0f) {
      ++dropped;
    } else {
      ASSERT_FLOAT_EQ(v, float(1.0 / (1.0 - p)));
    }
  }
  EXPECT_NEAR(double(dropped) / double(x.numel()), p, 0.003);
}

TEST(Dropout, SameSeedSameMaskOtherSeedOtherMask) {
  Dropout a("drop", 0.5), b("drop", 0.5), other_name("drop2", 0.5);
  const Tensor x({1000}, 1.0f);
  const Tensor ya = a.forward(x, train_ctx(7));
  const Tensor yb = b.forward(x, train_ctx(7));
  const Tensor yc = b.forward(x, train_ctx(8));
  const Tensor yd = other_name.forward(x, train_ctx(7));
  int same_ab = 0, same_ac = 0, same_ad = 0;
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    same_ab += ya[i] == yb[i];
    same_ac += ya[i] == yc[i];
    same_ad += ya[i] == yd[i];
  }
  EXPECT_EQ(same_ab, 1000);
  EXPECT_LT(same_ac, 600);  // independent masks agree on about half the entries
  EXPECT_LT(same_ad, 600);
}

TEST(Dropout, GradientUsesTheForwardMask) {
  const double p = 0.4;
  Dropout d("drop", p);
  const Tensor x({50, 20}, 1.0f);
  const Tensor y = d.forward(x, train_ctx(3));
  const Tensor dy = random_tensor({50, 20}, 4);
  const Tensor& dx = d.backward(dy, train_ctx(3));
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    EXPECT_FLOAT_EQ(dx[i], y[i] == 0.0f ? 0.0f : dy[i] * float(1.0 / (1.0 - p)));
  }
  testing::GradCheckOptions opt;
  opt.ctx = train_ctx(3);
  expect_gradients_match(d, random_tensor({10, 10}, 5), opt);
}

TEST(Dropout, RejectsBadProbability) {
  EXPECT_THROW(Dropout("d", 1.0), std::invalid_argument);
  EXPECT_THROW(Dropout("d", -0.1), std::invalid_argument);
}

TEST(Flatten, Shapes) {
  Flatten f("flatten");
  EXPECT_EQ(f.kind(), "flatten");
  EXPECT_EQ(f.output_shape({2, 3, 4, 5}), (Shape{2, 60}));
  EXPECT_EQ(f.output_shape({7, 9}), (Shape{7, 9}));
  EXPECT_EQ(f.param_count(), 0);
  const Tensor x = random_tensor({2, 3, 4, 5}, 1);
  const Tensor& y = f.forward(x, train_ctx());
  EXPECT_EQ(y.shape(), (Shape{2, 60}));
  for (std::int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ(y[i], x[i]);
  const Tensor dy = random_tensor({2, 60}, 2);
  const Tensor& dx = f.backward(dy, train_ctx());
  EXPECT_EQ(dx.shape(), (Shape{2, 3, 4, 5}));
  for (std::int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ(dx[i], dy[i]);
}

TEST(Fp16, LeafOutputsAndGradientsAreHalfValues) {
  const Context ctx{Mode::train, Precision::fp16, 5};
  BatchNorm bn("bn", 3);
  Rng rng(1);
  bn.init(rng);
  bn.params()[0]->value = random_tensor({3}, 5);  // fp32 γ: not half values
  ReLU relu("relu");
  Dropout drop("drop", 0.3);
  Tensor x = random_tensor({4, 3, 4, 4}, 6);
  round_to_half(x.span());
  const Tensor dy = random_tensor({4, 3, 4, 4}, 7);
  for (Layer* layer : std::vector<Layer*>{&bn, &relu, &drop}) {
    const Tensor& y = layer->forward(x, ctx);
    for (float v : y.span()) ASSERT_TRUE(is_half(v)) << layer->name() << " output " << v;
    const Tensor& dx = layer->backward(dy, ctx);
    for (float v : dx.span()) ASSERT_TRUE(is_half(v)) << layer->name() << " gradient " << v;
  }
  // γ and β gradients are kept in fp32.
  EXPECT_FALSE(bn.params()[0]->half_storage);
}

}  // namespace
}  // namespace lb
