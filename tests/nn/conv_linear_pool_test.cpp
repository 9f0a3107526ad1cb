// Tests of Conv2d, Linear, MaxPool2d, AvgPool2d and GlobalAvgPool against
// naive reference loops and finite differences.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <oneapi/dnnl/dnnl.hpp>
#include <random>
#include <vector>

#include "runtime/core/half.hpp"
#include "runtime/nn/avg_pool2d.hpp"
#include "runtime/nn/conv2d.hpp"
#include "runtime/nn/cpu_settings.hpp"
#include "runtime/nn/global_avg_pool.hpp"
#include "runtime/nn/linear.hpp"
#include "runtime/nn/max_pool2d.hpp"
#include "tests/nn/gradcheck.hpp"

namespace lb {
namespace {

using testing::expect_gradients_match;
using testing::random_tensor;

const Context kTrain{Mode::train, Precision::fp32};
const Context kEval{Mode::eval, Precision::fp32};
const Context kTrainHalf{Mode::train, Precision::fp16};

// Index into a row-major NCHW tensor.
std::int64_t at(const Shape& s, std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w) {
  return ((n * s[1] + c) * s[2] + h) * s[3] + w;
}

void expect_close(const Tensor& actual, const Tensor& expected, double tol,
                  const std::string& what) {
  ASSERT_EQ(actual.shape(), expected.shape()) << what;
  for (std::int64_t i = 0; i < actual.numel(); ++i) {
    ASSERT_NEAR(actual[i], expected[i], tol * std::max(1.0f, std::abs(expected[i])))
        << what << " index " << i;
  }
}

// Gives every parameter random values (biases start at zero otherwise).
void randomize_params(Layer& layer, std::uint64_t seed) {
  for (Param* p : layer.params()) p->value = random_tensor(p->value.shape(), seed++, 0.5f);
}

Tensor reference_conv(const Tensor& x, const Tensor& w, const Tensor* b, int stride, int pad,
                      const Shape& out_shape) {
  Tensor y(out_shape);
  const Shape& xs = x.shape();
  const Shape& ws = w.shape();
  for (std::int64_t n = 0; n < out_shape[0]; ++n)
    for (std::int64_t o = 0; o < out_shape[1]; ++o)
      for (std::int64_t oh = 0; oh < out_shape[2]; ++oh)
        for (std::int64_t ow = 0; ow < out_shape[3]; ++ow) {
          double s = b ? (*b)[o] : 0.0;
          for (std::int64_t i = 0; i < xs[1]; ++i)
            for (std::int64_t kh = 0; kh < ws[2]; ++kh)
              for (std::int64_t kw = 0; kw < ws[3]; ++kw) {
                const std::int64_t ih = oh * stride - pad + kh, iw = ow * stride - pad + kw;
                if (ih < 0 || ih >= xs[2] || iw < 0 || iw >= xs[3]) continue;
                s += double(x[at(xs, n, i, ih, iw)]) * w[at(ws, o, i, kh, kw)];
              }
          y[at(out_shape, n, o, oh, ow)] = float(s);
        }
  return y;
}

// Gradients of reference_conv: dx, dw and db for output gradient dy.
struct ConvGrads {
  Tensor dx, dw, db;
};
ConvGrads reference_conv_backward(const Tensor& x, const Tensor& w, const Tensor& dy, int stride,
                                  int pad) {
  const Shape &xs = x.shape(), &ws = w.shape(), &ys = dy.shape();
  ConvGrads g{Tensor(xs), Tensor(ws), Tensor({ws[0]})};
  for (std::int64_t n = 0; n < ys[0]; ++n)
    for (std::int64_t o = 0; o < ys[1]; ++o)
      for (std::int64_t oh = 0; oh < ys[2]; ++oh)
        for (std::int64_t ow = 0; ow < ys[3]; ++ow) {
          const float d = dy[at(ys, n, o, oh, ow)];
          g.db[o] += d;
          for (std::int64_t i = 0; i < xs[1]; ++i)
            for (std::int64_t kh = 0; kh < ws[2]; ++kh)
              for (std::int64_t kw = 0; kw < ws[3]; ++kw) {
                const std::int64_t ih = oh * stride - pad + kh, iw = ow * stride - pad + kw;
                if (ih < 0 || ih >= xs[2] || iw < 0 || iw >= xs[3]) continue;
                g.dx[at(xs, n, i, ih, iw)] += d * w[at(ws, o, i, kh, kw)];
                g.dw[at(ws, o, i, kh, kw)] += d * x[at(xs, n, i, ih, iw)];
              }
        }
  return g;
}

// Max or average (excluding padding) over each window.
Tensor reference_pool(const Tensor& x, int k, int stride, int pad, bool max) {
  const Shape& xs = x.shape();
  const Shape ys{xs[0], xs[1], (xs[2] + 2 * pad - k) / stride + 1,
                 (xs[3] + 2 * pad - k) / stride + 1};
  Tensor y(ys);
  for (std::int64_t n = 0; n < ys[0]; ++n)
    for (std::int64_t c = 0; c < ys[1]; ++c)
      for (std::int64_t oh = 0; oh < ys[2]; ++oh)
        for (std::int64_t ow = 0; ow < ys[3]; ++ow) {
          double best = -std::numeric_limits<double>::infinity(), sum = 0;
          int count = 0;
          for (int kh = 0; kh < k; ++kh)
            for (int kw = 0; kw < k; ++kw) {
              const std::int64_t ih = oh * stride - pad + kh, iw = ow * stride - pad + kw;
              if (ih < 0 || ih >= xs[2] || iw < 0 || iw >= xs[3]) continue;
              const double v = x[at(xs, n, c, ih, iw)];
              best = std::max(best, v);
              sum += v;
              ++count;
            }
          y[at(ys, n, c, oh, ow)] = float(max ? best : sum / count);
        }
  return y;
}

// Distinct values at least 0.1 apart in random order: a finite-difference
// step of 1e-2 can then never change which element of a window is the max.
Tensor distinct_tensor(const Shape& shape, std::uint64_t seed) {
  Tensor t(shape);
  std::vector<float> values(static_cast<std::size_t>(t.numel()));
  std::iota(values.begin(), values.end(), 0.0f);
  std::shuffle(values.begin(), values.end(), std::mt19937_64(seed));
  for (std::int64_t i = 0; i < t.numel(); ++i) t[i] = values[i] * 0.1f - 0.05f * t.numel();
  return t;
}

// Forward in fp16 mode: outputs are half values and close to the fp32 result.
void expect_half_forward_close(Layer& layer, const Tensor& x) {
  const Tensor y32 = layer.forward(x, kTrain);
  const Tensor y16 = layer.forward(x, kTrainHalf);
  Tensor rounded = y16;
  round_to_half(rounded.span());
  ASSERT_EQ(y16.shape(), y32.shape());
  for (std::int64_t i = 0; i < y16.numel(); ++i) {
    ASSERT_EQ(rounded[i], y16[i]) << layer.name() << " output " << i << " is not a half value";
    ASSERT_NEAR(y16[i], y32[i], 1e-2 * std::max(1.0f, std::abs(y32[i]))) << layer.name();
  }
}

// ---------------------------------------------------------------- Conv2d

TEST(Conv2d, OutputShapeAndValidation) {
  Conv2d conv("conv", 3, 8, 3, 2, 1);
  EXPECT_EQ(conv.kind(), "conv2d");
  EXPECT_EQ(conv.output_shape({2, 3, 9, 9}), (Shape{2, 8, 5, 5}));
  EXPECT_EQ(conv.output_shape({1, 3, 224, 224}), (Shape{1, 8, 112, 112}));
  EXPECT_THROW(conv.output_shape({2, 4, 9, 9}), std::invalid_argument);  // channels
  EXPECT_THROW(conv.output_shape({3, 9, 9}), std::invalid_argument);     // rank
  EXPECT_THROW(Conv2d("bad", 3, 8, 0), std::invalid_argument);
}

TEST(Conv2d, CountsParamsAndFlops) {
  Conv2d stem("conv1", 3, 64, 7, 2, 3);
  EXPECT_EQ(stem.param_count(), 9408);
  EXPECT_DOUBLE_EQ(stem.forward_flops({1, 3, 224, 224}), 2.0 * 9408 * 112 * 112);
  EXPECT_DOUBLE_EQ(stem.forward_flops({8, 3, 224, 224}), 8 * 2.0 * 9408 * 112 * 112);
  Conv2d with_bias("c", 16, 32, 3, 1, 1, true);
  EXPECT_EQ(with_bias.param_count(), 32 * 16 * 9 + 32);
  // The bias add counts one FLOP per output.
  EXPECT_DOUBLE_EQ(with_bias.forward_flops({1, 16, 8, 8}), 32 * 64 * (2.0 * 16 * 9 + 1));
  Rng rng(1);
  stem.init(rng);
  ASSERT_EQ(stem.params().size(), 1u);
  EXPECT_EQ(stem.params()[0]->name, "conv1.weight");
  EXPECT_EQ(stem.params()[0]->value.shape(), (Shape{64, 3, 7, 7}));
  EXPECT_EQ(with_bias.params().size(), 2u);
}

TEST(Conv2d, InitIsHeNormalFanOut) {
  Conv2d conv("conv", 64, 128, 3, 1, 1, true);
  Rng rng(7);
  conv.init(rng);
  const Tensor& w = conv.params()[0]->value;
  double sum = 0, sq = 0;
  for (float v : w.span()) sum += v, sq += double(v) * v;
  const double mean = sum / w.numel(), std = std::sqrt(sq / w.numel() - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.005);
  EXPECT_NEAR(std, std::sqrt(2.0 / (128 * 9)), 0.002);
  EXPECT_TRUE(conv.params()[1]->is_bias_or_norm);
  for (float v : conv.params()[1]->value.span()) EXPECT_EQ(v, 0.0f);
}

TEST(Conv2d, ForwardMatchesReference) {
  // Small and wide channel counts: oneDNN keeps plain layouts for the first
  // and picks blocked ones (with reorders) for the second.
  for (auto [in, out] : {std::pair{3, 5}, std::pair{16, 32}}) {
    Conv2d conv("conv", in, out, 3, 2, 1, true);
    Rng rng(3);
    conv.init(rng);
    randomize_params(conv, 11);
    const Tensor x = random_tensor({2, in, 9, 7}, 5);
    const Tensor& y = conv.forward(x, kTrain);
    const Tensor expected = reference_conv(x, conv.params()[0]->value, &conv.params()[1]->value, 2,
                                           1, conv.output_shape(x.shape()));
    expect_close(y, expected, 1e-4, "conv " + std::to_string(in));
  }
}

TEST(Conv2d, GradientsMatchFiniteDifferences) {
  for (auto [in, out] : {std::pair{3, 4}, std::pair{16, 32}}) {
    Conv2d conv("conv", in, out, 3, 2, 1, true);
    Rng rng(4);
    conv.init(rng);
    randomize_params(conv, 21);
    expect_gradients_match(conv, random_tensor({2, in, 7, 6}, 9));
  }
  Conv2d pointwise("pw", 16, 16, 1);
  Rng rng(5);
  pointwise.init(rng);
  expect_gradients_match(pointwise, random_tensor({3, 16, 4, 4}, 10));
}

// Two layers in a row, as in a model: the staging scratch shared between
// layers must not mix up their data.
TEST(Conv2d, ChainedLayersMatchReference) {
  Conv2d a("a", 16, 32, 3, 1, 1, true), b("b", 32, 16, 3, 2, 1, true);
  Rng rng(17);
  a.init(rng);
  b.init(rng);
  randomize_params(a, 61);
  randomize_params(b, 71);
  const Tensor x = random_tensor({2, 16, 8, 8}, 18);
  const Tensor& ya = a.forward(x, kTrain);
  const Tensor& yb = b.forward(ya, kTrain);
  const Tensor ya_ref = reference_conv(x, a.params()[0]->value, &a.params()[1]->value, 1, 1,
                                       a.output_shape(x.shape()));
  expect_close(ya, ya_ref, 1e-4, "a forward");
  expect_close(yb,
               reference_conv(ya_ref, b.params()[0]->value, &b.params()[1]->value, 2, 1,
                              b.output_shape(ya.shape())),
               1e-4, "b forward");
  const Tensor dy = random_tensor(yb.shape(), 19);
  const Tensor& dyb = b.backward(dy, kTrain);
  const ConvGrads gb = reference_conv_backward(ya_ref, b.params()[0]->value, dy, 2, 1);
  expect_close(dyb, gb.dx, 1e-4, "b dx");
  expect_close(b.params()[0]->grad, gb.dw, 1e-4, "b dw");
  expect_close(b.params()[1]->grad, gb.db, 1e-4, "b db");
  const Tensor& dx = a.backward(dyb, kTrain);
  const ConvGrads ga = reference_conv_backward(x, a.params()[0]->value, gb.dx, 1, 1);
  expect_close(dx, ga.dx, 1e-4, "a dx");
  expect_close(a.params()[0]->grad, ga.dw, 1e-4, "a dw");
  expect_close(a.params()[1]->grad, ga.db, 1e-4, "a db");
}

// Restores the process-wide convolution algorithm when a test ends.
struct ConvAlgorithmScope {
  explicit ConvAlgorithmScope(cpu::ConvAlgorithm a) : saved(cpu::conv_algorithm()) {
    cpu::set_conv_algorithm(a);
  }
  ~ConvAlgorithmScope() { cpu::set_conv_algorithm(saved); }
  cpu::ConvAlgorithm saved;
};

// Winograd F(4x4, 3x3) where oneDNN has it (3x3, stride 1), direct elsewhere:
// every choice computes the same convolution, forward and backward.
TEST(Conv2d, EveryAlgorithmMatchesReference) {
  using cpu::ConvAlgorithm;
  for (auto [name, algorithm] :
       {std::pair{"direct", ConvAlgorithm::direct}, std::pair{"winograd", ConvAlgorithm::winograd},
        std::pair{"auto", ConvAlgorithm::automatic}}) {
    for (int stride : {1, 2}) {
      const ConvAlgorithmScope scope(algorithm);
      Conv2d conv("conv", 16, 32, 3, stride, 1, true);
      Rng rng(21);
      conv.init(rng);
      randomize_params(conv, 81);
      const Tensor x = random_tensor({4, 16, 12, 12}, 22);
      const std::string what = std::string(name) + " stride " + std::to_string(stride);
      const Tensor& y = conv.forward(x, kTrain);
      expect_close(y,
                   reference_conv(x, conv.params()[0]->value, &conv.params()[1]->value, stride, 1,
                                  conv.output_shape(x.shape())),
                   1e-4, what + " forward");
      const Tensor dy = random_tensor(y.shape(), 23);
      const Tensor& dx = conv.backward(dy, kTrain);
      const ConvGrads g = reference_conv_backward(x, conv.params()[0]->value, dy, stride, 1);
      expect_close(dx, g.dx, 1e-4, what + " dx");
      expect_close(conv.params()[0]->grad, g.dw, 1e-4, what + " dw");
      expect_close(conv.params()[1]->grad, g.db, 1e-4, what + " db");
      const auto impls = conv.implementations();
      ASSERT_EQ(impls.size(), 3u);
      for (const std::string& impl : impls) {
        const bool winograd = impl.find("wino") != std::string::npos;
        // oneDNN's Winograd kernels need AVX-512 (the ISA values are bit sets).
        const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
        const bool avx512 = (isa & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core;
        const bool expected = algorithm == ConvAlgorithm::winograd && stride == 1 && avx512;
        if (algorithm != ConvAlgorithm::automatic)
          EXPECT_EQ(winograd, expected) << what << ": " << impl;
      }
    }
  }
}

TEST(Conv2d, SkipsInputGradientWhenNotNeeded) {
  Conv2d a("a", 3, 16, 3, 1, 1), b("b", 3, 16, 3, 1, 1);
  Rng r1(6), r2(6);
  a.init(r1);
  b.init(r2);
  b.set_needs_input_grad(false);
  const Tensor x = random_tensor({2, 3, 8, 8}, 12);
  const Tensor dy = random_tensor({2, 16, 8, 8}, 13);
  a.forward(x, kTrain);
  EXPECT_FALSE(a.backward(dy, kTrain).empty());
  b.forward(x, kTrain);
  EXPECT_TRUE(b.backward(dy, kTrain).empty());
  expect_close(b.params()[0]->grad, a.params()[0]->grad, 1e-5, "weight grad");
}

TEST(Conv2d, EvalAndTrainAgree) {
  Conv2d conv("conv", 16, 32, 3, 1, 1, true);
  Rng rng(8);
  conv.init(rng);
  randomize_params(conv, 31);
  const Tensor x = random_tensor({2, 16, 10, 10}, 14);
  const Tensor train = conv.forward(x, kTrain);
  const Tensor eval = conv.forward(x, kEval);
  // The two modes are separate oneDNN primitives; with Winograd (the default)
  // their transforms round differently, by up to ~1e-5 on outputs of order 1.
  expect_close(eval, train, 1e-4, "eval vs train");
}

TEST(Conv2d, ChangingBatchSizeReusesOrRebuildsPlans) {
  Conv2d conv("conv", 16, 8, 3, 2, 1, true);
  Rng rng(9);
  conv.init(rng);
  randomize_params(conv, 41);
  for (int n : {4, 2, 4, 3, 2}) {
    const Tensor x = random_tensor({n, 16, 8, 8}, 100 + n);
    const Tensor y = conv.forward(x, n == 3 ? kEval : kTrain);
    const Tensor expected = reference_conv(x, conv.params()[0]->value, &conv.params()[1]->value, 2,
                                           1, conv.output_shape(x.shape()));
    expect_close(y, expected, 1e-4, "batch " + std::to_string(n));
  }
  // Backward follows the last (batch 2) forward.
  const Tensor& dx = conv.backward(random_tensor({2, 8, 4, 4}, 50), kTrain);
  EXPECT_EQ(dx.shape(), (Shape{2, 16, 8, 8}));
  expect_gradients_match(conv, random_tensor({3, 16, 8, 8}, 51));
}

TEST(Conv2d, BackwardNeedsTrainingForward) {
  Conv2d conv("conv", 3, 4, 3);
  Rng rng(10);
  conv.init(rng);
  const Tensor dy({1, 4, 3, 3});
  EXPECT_THROW(conv.backward(dy, kTrain), std::logic_error);
  conv.forward(random_tensor({1, 3, 5, 5}, 1), kEval);
  EXPECT_THROW(conv.backward(dy, kTrain), std::logic_error);
  conv.forward(random_tensor({1, 3, 5, 5}, 1), kTrain);
  EXPECT_THROW(conv.backward(Tensor({1, 4, 2, 2}), kTrain), std::invalid_argument);
  EXPECT_THROW(Conv2d("x", 3, 4, 3).forward(Tensor({1, 3, 5, 5}), kTrain), std::logic_error);
}

TEST(Conv2d, HalfPrecision) {
  Conv2d conv("conv", 16, 32, 3, 2, 1, true);
  Rng rng(11);
  conv.init(rng);
  const Tensor x = random_tensor({2, 16, 9, 9}, 15);
  expect_half_forward_close(conv, x);
  conv.backward(random_tensor({2, 32, 5, 5}, 16), kTrainHalf);
  for (Param* p : conv.params()) {
    Tensor rounded = p->grad;
    round_to_half(rounded.span());
    for (std::int64_t i = 0; i < rounded.numel(); ++i) ASSERT_EQ(rounded[i], p->grad[i]);
  }
}

// ---------------------------------------------------------------- Linear

Tensor reference_linear(const Tensor& x, const Tensor& w, const Tensor* b) {
  const std::int64_t n = x.dim(0), in = x.dim(1), out = w.dim(0);
  Tensor y({n, out});
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t o = 0; o < out; ++o) {
      double s = b ? (*b)[o] : 0.0;
      for (std::int64_t k = 0; k < in; ++k) s += double(x[i * in + k]) * w[o * in + k];
      y[i * out + o] = float(s);
    }
  return y;
}

TEST(Linear, ShapeCountsAndInit) {
  Linear fc("fc", 2048, 1000);
  EXPECT_EQ(fc.kind(), "linear");
  EXPECT_EQ(fc.output_shape({32, 2048}), (Shape{32, 1000}));
  EXPECT_THROW(fc.output_shape({32, 1024}), std::invalid_argument);
  EXPECT_THROW(fc.output_shape({32, 2048, 1, 1}), std::invalid_argument);
  EXPECT_EQ(fc.param_count(), 2048 * 1000 + 1000);
  EXPECT_DOUBLE_EQ(fc.forward_flops({32, 2048}), 32 * 1000 * (2.0 * 2048 + 1));
  EXPECT_EQ(Linear("nb", 10, 5, false).param_count(), 50);
  Rng rng(12);
  fc.init(rng);
  const float bound = 1.0f / std::sqrt(2048.0f);
  for (Param* p : fc.params())
    for (float v : p->value.span()) ASSERT_LE(std::abs(v), bound);
  EXPECT_EQ(fc.params()[0]->name, "fc.weight");
  EXPECT_EQ(fc.params()[1]->name, "fc.bias");
  EXPECT_TRUE(fc.params()[1]->is_bias_or_norm);
}

TEST(Linear, ForwardMatchesReference) {
  for (bool bias : {true, false}) {
    Linear fc("fc", 37, 13, bias);
    Rng rng(13);
    fc.init(rng);
    const Tensor x = random_tensor({5, 37}, 17);
    const Tensor expected =
        reference_linear(x, fc.params()[0]->value, bias ? &fc.params()[1]->value : nullptr);
    expect_close(fc.forward(x, kTrain), expected, 1e-5, "linear");
    expect_close(fc.forward(x, kEval), expected, 1e-5, "linear eval");
  }
}

TEST(Linear, GradientsMatchFiniteDifferences) {
  Linear fc("fc", 24, 10);
  Rng rng(14);
  fc.init(rng);
  expect_gradients_match(fc, random_tensor({4, 24}, 18));
  Linear head("head", 9, 3, false);
  head.init(rng);
  expect_gradients_match(head, random_tensor({6, 9}, 19));
}

TEST(Linear, ChangingBatchSizeAndHalf) {
  Linear fc("fc", 64, 16);
  Rng rng(15);
  fc.init(rng);
  for (int n : {8, 3, 8}) {
    const Tensor x = random_tensor({n, 64}, 200 + n);
    expect_close(fc.forward(x, kTrain),
                 reference_linear(x, fc.params()[0]->value, &fc.params()[1]->value), 1e-5,
                 "batch " + std::to_string(n));
  }
  expect_half_forward_close(fc, random_tensor({8, 64}, 20));
}

// ---------------------------------------------------------------- pooling

TEST(MaxPool2d, ShapeFlopsAndForward) {
  MaxPool2d pool("maxpool", 3, 2, 1);
  EXPECT_EQ(pool.kind(), "max_pool");
  EXPECT_EQ(pool.output_shape({2, 64, 112, 112}), (Shape{2, 64, 56, 56}));
  EXPECT_DOUBLE_EQ(pool.forward_flops({2, 64, 112, 112}), 2.0 * 64 * 56 * 56 * 9);
  EXPECT_EQ(pool.param_count(), 0);
  EXPECT_THROW(pool.output_shape({64, 112, 112}), std::invalid_argument);
  EXPECT_THROW(MaxPool2d("bad", 2, 2, 2), std::invalid_argument);
  const Tensor x = random_tensor({2, 3, 9, 8}, 21);
  expect_close(pool.forward(x, kTrain), reference_pool(x, 3, 2, 1, true), 0, "max");
  expect_close(pool.forward(x, kEval), reference_pool(x, 3, 2, 1, true), 0, "max eval");
}

TEST(MaxPool2d, GradientsMatchFiniteDifferences) {
  MaxPool2d pool("maxpool", 3, 2, 1);
  expect_gradients_match(pool, distinct_tensor({2, 3, 7, 6}, 22));
  MaxPool2d plain("maxpool2", 2, 2);
  expect_gradients_match(plain, distinct_tensor({1, 4, 6, 6}, 23));
}

TEST(AvgPool2d, ShapeFlopsAndForward) {
  AvgPool2d pool("avgpool", 3, 2, 1);
  EXPECT_EQ(pool.kind(), "avg_pool");
  EXPECT_EQ(pool.output_shape({2, 8, 9, 8}), (Shape{2, 8, 5, 4}));
  EXPECT_DOUBLE_EQ(pool.forward_flops({2, 8, 9, 8}), 2.0 * 8 * 5 * 4 * 9);
  const Tensor x = random_tensor({2, 3, 9, 8}, 24);
  expect_close(pool.forward(x, kTrain), reference_pool(x, 3, 2, 1, false), 1e-6, "avg");
  AvgPool2d two("avg2", 2, 2);
  const Tensor x2 = random_tensor({3, 5, 6, 6}, 25);
  expect_close(two.forward(x2, kEval), reference_pool(x2, 2, 2, 0, false), 1e-6, "avg2");
}

TEST(AvgPool2d, GradientsMatchFiniteDifferences) {
  AvgPool2d pool("avgpool", 3, 2, 1);
  expect_gradients_match(pool, random_tensor({2, 3, 7, 6}, 26));
}

TEST(Pooling, ChangingBatchSizeAndHalf) {
  MaxPool2d max("max", 3, 2, 1);
  AvgPool2d avg("avg", 3, 2, 1);
  for (int n : {4, 1, 4}) {
    const Tensor x = random_tensor({n, 16, 10, 10}, 300 + n);
    expect_close(max.forward(x, kTrain), reference_pool(x, 3, 2, 1, true), 0, "max");
    expect_close(avg.forward(x, kTrain), reference_pool(x, 3, 2, 1, false), 1e-6, "avg");
    EXPECT_EQ(max.backward(random_tensor({n, 16, 5, 5}, 1), kTrain).shape(), x.shape());
  }
  expect_half_forward_close(max, random_tensor({2, 16, 10, 10}, 27));
  expect_half_forward_close(avg, random_tensor({2, 16, 10, 10}, 28));
}

TEST(GlobalAvgPool, ShapeForwardAndGradients) {
  GlobalAvgPool gap("avgpool");
  EXPECT_EQ(gap.kind(), "global_avg_pool");
  EXPECT_EQ(gap.output_shape({8, 2048, 7, 7}), (Shape{8, 2048, 1, 1}));
  EXPECT_DOUBLE_EQ(gap.forward_flops({8, 2048, 7, 7}), 8.0 * 2048 * 49);
  EXPECT_THROW(gap.output_shape({8, 2048}), std::invalid_argument);
  const Tensor x = random_tensor({3, 5, 7, 6}, 29);
  Tensor expected({3, 5, 1, 1});
  for (std::int64_t p = 0; p < 15; ++p) {
    double s = 0;
    for (std::int64_t i = 0; i < 42; ++i) s += x[p * 42 + i];
    expected[p] = float(s / 42);
  }
  expect_close(gap.forward(x, kTrain), expected, 1e-6, "gap");
  expect_gradients_match(gap, x);
  expect_half_forward_close(gap, x);
}

}  // namespace
}  // namespace lb
