// The cuDNN wrappers against direct loops in double. Tolerances scale with
// the sum of |products| behind each output (what a rounding error can be
// proportional to): 1e-4 of it in fp32 (cuDNN may pick FFT or Winograd
// algorithms, less exact than direct summation), 2e-3 in fp16 (11-bit
// storage of inputs and outputs). Max pooling and ReLU select values and
// must match exactly.
#include <gtest/gtest.h>

#include <cmath>

#include "runtime/backends/cuda/cudnn_activation.hpp"
#include "runtime/backends/cuda/cudnn_batch_norm.hpp"
#include "runtime/backends/cuda/cudnn_convolution.hpp"
#include "runtime/backends/cuda/cudnn_pooling.hpp"
#include "tests/cuda/gpu_test.hpp"

namespace lb::cuda {
namespace {

struct Approx {
  std::vector<double> value, bound;  // the exact result and sum of |terms|
};

std::int64_t at(const Nchw& s, std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w) {
  return ((n * s.c + c) * s.h + h) * s.w + w;
}

// Calls fn(y_index, x_index, w_index) for every product x * w of a direct
// convolution (positions in the padding have none).
template <class Fn>
void for_each_product(const ConvGeometry& g, const Nchw& y, Fn fn) {
  const Nchw& x = g.input;
  for (std::int64_t n = 0; n < y.n; ++n)
    for (std::int64_t k = 0; k < y.c; ++k)
      for (std::int64_t p = 0; p < y.h; ++p)
        for (std::int64_t q = 0; q < y.w; ++q)
          for (std::int64_t c = 0; c < x.c; ++c)
            for (int r = 0; r < g.kernel_h; ++r)
              for (int s = 0; s < g.kernel_w; ++s) {
                const std::int64_t h = p * g.stride - g.padding + r,
                                   w = q * g.stride - g.padding + s;
                if (h < 0 || h >= x.h || w < 0 || w >= x.w) continue;
                fn(at(y, n, k, p, q), at(x, n, c, h, w),
                   ((k * x.c + c) * g.kernel_h + r) * g.kernel_w + s);
              }
}

struct ConvReference {
  Approx y, dx, dw;
};

ConvReference conv_reference(const ConvGeometry& g, const Nchw& out, const std::vector<float>& x,
                             const std::vector<float>& w, const std::vector<float>& dy) {
  ConvReference r;
  r.y = {std::vector<double>(out.count()), std::vector<double>(out.count())};
  r.dx = {std::vector<double>(x.size()), std::vector<double>(x.size())};
  r.dw = {std::vector<double>(w.size()), std::vector<double>(w.size())};
  for_each_product(g, out, [&](std::int64_t yi, std::int64_t xi, std::int64_t wi) {
    const double fwd = double(x[xi]) * w[wi], data = double(dy[yi]) * w[wi],
                 filter = double(dy[yi]) * x[xi];
    r.y.value[yi] += fwd;
    r.y.bound[yi] += std::abs(fwd);
    r.dx.value[xi] += data;
    r.dx.bound[xi] += std::abs(data);
    r.dw.value[wi] += filter;
    r.dw.bound[wi] += std::abs(filter);
  });
  return r;
}

void expect_near(const std::vector<float>& actual, const Approx& expected, double relative,
                 const char* what) {
  ASSERT_EQ(actual.size(), expected.value.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    ASSERT_NEAR(actual[i], expected.value[i], relative * expected.bound[i] + 1e-30)
        << what << " element " << i;
  }
}

std::vector<float> widened(const std::vector<half_bits>& h) {
  std::vector<float> f(h.size());
  from_half(h, f);
  return f;
}

class Cudnn : public test::GpuTest {
 protected:
  void SetUp() override {
    test::GpuTest::SetUp();
    if (has_gpu()) handle_ = std::make_unique<CudnnHandle>(stream());
  }
  std::unique_ptr<CudnnHandle> handle_;
};

constexpr ConvGeometry kConvs[] = {
    {{2, 3, 9, 9}, 4, 3, 3, 1, 1},     // 3x3, stride 1, padding 1
    {{2, 8, 10, 10}, 16, 3, 3, 2, 1},  // stride 2
    {{3, 16, 7, 7}, 8, 1, 1, 1, 0},    // 1x1 (a GEMM in disguise)
};

TEST_F(Cudnn, ConvolutionFp32MatchesDirectLoops) {
  for (AlgoSearch search : {AlgoSearch::heuristic, AlgoSearch::benchmark}) {
    for (const ConvGeometry& g : kConvs) {
      CudnnConvolution conv(*handle_, g, DataType::fp32, allocator(), search);
      SCOPED_TRACE(conv.algorithms());
      const Nchw y = conv.output_shape(), f = conv.filter_shape();
      const auto x = test::normal_values(g.input.count(), 1), w = test::normal_values(f.count(), 2);
      const auto dy = test::normal_values(y.count(), 3);
      const ConvReference r = conv_reference(g, y, x, w, dy);
      DeviceBuffer<float> x_dev = upload(x), w_dev = upload(w), dy_dev = upload(dy);
      DeviceBuffer<float> out(allocator(), y.count()), gx(allocator(), x.size()),
          gw(allocator(), w.size());
      conv.forward(x_dev.span(), w_dev.span(), out.span());
      conv.backward_data(dy_dev.span(), w_dev.span(), gx.span());
      conv.backward_filter(x_dev.span(), dy_dev.span(), gw.span());
      expect_near(download(out), r.y, 1e-4, "forward");
      expect_near(download(gx), r.dx, 1e-4, "backward data");
      expect_near(download(gw), r.dw, 1e-4, "backward filter");
    }
  }
}

TEST_F(Cudnn, ConvolutionFp16MatchesDirectLoops) {
  for (const ConvGeometry& g : kConvs) {
    CudnnConvolution conv(*handle_, g, DataType::fp16, allocator());
    SCOPED_TRACE(conv.algorithms());
    const Nchw y = conv.output_shape(), f = conv.filter_shape();
    std::vector<half_bits> x(g.input.count()), w(f.count()), dy(y.count());
    to_half(test::normal_values(x.size(), 4), x);
    to_half(test::normal_values(w.size(), 5), w);
    to_half(test::normal_values(dy.size(), 6), dy);
    const ConvReference r = conv_reference(g, y, widened(x), widened(w), widened(dy));
    DeviceBuffer<half_bits> x_dev = upload(x), w_dev = upload(w), dy_dev = upload(dy);
    DeviceBuffer<half_bits> out(allocator(), y.count()), gx(allocator(), x.size()),
        gw(allocator(), w.size());
    conv.forward(x_dev.span(), w_dev.span(), out.span());
    conv.backward_data(dy_dev.span(), w_dev.span(), gx.span());
    conv.backward_filter(x_dev.span(), dy_dev.span(), gw.span());
    expect_near(widened(download(out)), r.y, 2e-3, "forward");
    expect_near(widened(download(gx)), r.dx, 2e-3, "backward data");
    expect_near(widened(download(gw)), r.dw, 2e-3, "backward filter");
  }
}

TEST_F(Cudnn, ConvolutionRefusesTensorsOfTheWrongShape) {
  CudnnConvolution conv(*handle_, kConvs[0], DataType::fp32, allocator());
  DeviceBuffer<float> small(allocator(), 10);
  EXPECT_THROW(conv.forward(small.span(), small.span(), small.span()), std::invalid_argument);
}

struct BnReference {
  std::vector<double> y, mean, var, dx, dgamma, dbeta;
};

// Training-mode batch norm in double: biased variance for normalising.
BnReference bn_reference(const Nchw& s, const std::vector<float>& x, const std::vector<float>& dy,
                         const std::vector<float>& gamma, const std::vector<float>& beta,
                         double eps) {
  BnReference r{std::vector<double>(x.size()), std::vector<double>(s.c), std::vector<double>(s.c),
                std::vector<double>(x.size()), std::vector<double>(s.c), std::vector<double>(s.c)};
  const double m = double(s.n * s.h * s.w);
  auto each = [&](std::int64_t c, auto fn) {
    for (std::int64_t n = 0; n < s.n; ++n)
      for (std::int64_t i = 0; i < s.h * s.w; ++i) fn((n * s.c + c) * s.h * s.w + i);
  };
  for (std::int64_t c = 0; c < s.c; ++c) {
    each(c, [&](std::int64_t i) { r.mean[c] += x[i] / m; });
    each(c, [&](std::int64_t i) { r.var[c] += (x[i] - r.mean[c]) * (x[i] - r.mean[c]) / m; });
    const double inv = 1.0 / std::sqrt(r.var[c] + eps);
    double sum_dy = 0, sum_dy_xhat = 0;
    each(c, [&](std::int64_t i) {
      const double xhat = (x[i] - r.mean[c]) * inv;
      r.y[i] = gamma[c] * xhat + beta[c];
      sum_dy += dy[i];
      sum_dy_xhat += dy[i] * xhat;
    });
    r.dgamma[c] = sum_dy_xhat;
    r.dbeta[c] = sum_dy;
    each(c, [&](std::int64_t i) {
      const double xhat = (x[i] - r.mean[c]) * inv;
      r.dx[i] = gamma[c] * inv * (dy[i] - sum_dy / m - xhat * sum_dy_xhat / m);
    });
  }
  return r;
}

void expect_close(const std::vector<float>& actual, const std::vector<double>& expected,
                  double tolerance, const char* what) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    ASSERT_NEAR(actual[i], expected[i], tolerance * (1.0 + std::abs(expected[i])))
        << what << " element " << i;
  }
}

// Relative 1e-4 (plus 1e-4 absolute near zero): cuDNN sums per channel in
// fp32 in its own order over 2*5*6*6 = 360 values per channel.
TEST_F(Cudnn, BatchNormTrainingInferenceAndBackwardMatchLoops) {
  const Nchw s{2, 5, 6, 6};
  const double eps = 1e-5, momentum = 0.1;
  const auto x = test::normal_values(s.count(), 7, 3.0f), dy = test::normal_values(s.count(), 8);
  const auto gamma = test::normal_values(s.c, 9), beta = test::normal_values(s.c, 10);
  const BnReference r = bn_reference(s, x, dy, gamma, beta, eps);
  CudnnBatchNorm bn(*handle_, s, DataType::fp32, eps);
  DeviceBuffer<float> x_dev = upload(x), dy_dev = upload(dy), gamma_dev = upload(gamma),
                      beta_dev = upload(beta);
  DeviceBuffer<float> y(allocator(), x.size()), gx(allocator(), x.size());
  DeviceBuffer<float> rmean = upload(std::vector<float>(s.c, 0.0f)),
                      rvar = upload(std::vector<float>(s.c, 1.0f));
  DeviceBuffer<float> smean(allocator(), s.c), sinv(allocator(), s.c), ggamma(allocator(), s.c),
      gbeta(allocator(), s.c);
  const BatchNormParams params{gamma_dev.span(), beta_dev.span()};
  bn.forward_training(x_dev.span(), y.span(), params, momentum, {rmean.span(), rvar.span()},
                      {smean.span(), sinv.span()});
  bn.backward(x_dev.span(), dy_dev.span(), gx.span(), params, {smean.span(), sinv.span()},
              {ggamma.span(), gbeta.span()});
  expect_close(download(y), r.y, 1e-4, "y");
  expect_close(download(smean), r.mean, 1e-4, "saved mean");
  expect_close(download(gx), r.dx, 1e-4, "dx");
  expect_close(download(ggamma), r.dgamma, 1e-4, "dgamma");
  expect_close(download(gbeta), r.dbeta, 1e-4, "dbeta");
  // PyTorch's convention, as the CPU layer: running var takes the unbiased variance.
  const double m = double(s.n * s.h * s.w);
  std::vector<double> running_mean(s.c), running_var(s.c);
  for (std::int64_t c = 0; c < s.c; ++c) {
    running_mean[c] = momentum * r.mean[c];
    running_var[c] = (1 - momentum) + momentum * r.var[c] * m / (m - 1);
  }
  expect_close(download(rmean), running_mean, 1e-4, "running mean");
  expect_close(download(rvar), running_var, 1e-4, "running var");
}

std::vector<float> pool_reference(const PoolGeometry& g, const Nchw& y, PoolMode mode,
                                  const std::vector<float>& x) {
  std::vector<float> out(y.count());
  for (std::int64_t n = 0; n < y.n; ++n)
    for (std::int64_t c = 0; c < y.c; ++c)
      for (std::int64_t p = 0; p < y.h; ++p)
        for (std::int64_t q = 0; q < y.w; ++q) {
          double best = -INFINITY, sum = 0;
          int covered = 0;
          for (int r = 0; r < g.kernel; ++r)
            for (int s = 0; s < g.kernel; ++s) {
              const std::int64_t h = p * g.stride - g.padding + r, w = q * g.stride - g.padding + s;
              if (h < 0 || h >= g.input.h || w < 0 || w >= g.input.w) continue;
              const float v = x[at(g.input, n, c, h, w)];
              best = std::max(best, double(v));
              sum += v;
              ++covered;
            }
          out[at(y, n, c, p, q)] = mode == PoolMode::max ? float(best) : float(sum / covered);
        }
  return out;
}

TEST_F(Cudnn, PoolingMatchesLoopsWithPadding) {
  const PoolGeometry g{{2, 3, 9, 9}, 3, 2, 1};
  const auto x = test::normal_values(g.input.count(), 11);
  for (PoolMode mode : {PoolMode::max, PoolMode::average}) {
    CudnnPooling pool(*handle_, g, mode, DataType::fp32);
    const Nchw y = pool.output_shape();
    EXPECT_EQ(y, (Nchw{2, 3, 5, 5}));  // floor((9 + 2 - 3) / 2) + 1
    DeviceBuffer<float> x_dev = upload(x), out(allocator(), y.count());
    pool.forward(x_dev.span(), out.span());
    const std::vector<float> expected = pool_reference(g, y, mode, x), actual = download(out);
    for (std::size_t i = 0; i < actual.size(); ++i) {
      if (mode == PoolMode::max) {
        ASSERT_EQ(actual[i], expected[i]) << "max, element " << i;
      } else {
        ASSERT_NEAR(actual[i], expected[i], 1e-6f) << "average, element " << i;
      }
    }
  }
}

TEST_F(Cudnn, MaxPoolingBackwardRoutesTheGradientToTheMaximum) {
  const PoolGeometry g{{1, 1, 4, 4}, 2, 2, 0};
  const std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  CudnnPooling pool(*handle_, g, PoolMode::max, DataType::fp32);
  DeviceBuffer<float> x_dev = upload(x), y(allocator(), 4), gx(allocator(), 16);
  DeviceBuffer<float> dy = upload(std::vector<float>{1, 2, 3, 4});
  pool.forward(x_dev.span(), y.span());
  pool.backward(x_dev.span(), y.span(), dy.span(), gx.span());
  EXPECT_EQ(download(y), (std::vector<float>{6, 8, 14, 16}));
  EXPECT_EQ(download(gx), (std::vector<float>{0, 0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4}));
}

TEST_F(Cudnn, ReluForwardAndBackwardSelectExactly) {
  const Nchw s{2, 3, 4, 5};
  const auto x = test::normal_values(s.count(), 12), dy = test::normal_values(s.count(), 13);
  CudnnRelu relu(*handle_, s, DataType::fp32);
  DeviceBuffer<float> x_dev = upload(x), dy_dev = upload(dy), y(allocator(), x.size()),
                      gx(allocator(), x.size());
  relu.forward(x_dev.span(), y.span());
  relu.backward(x_dev.span(), y.span(), dy_dev.span(), gx.span());
  std::vector<float> ey(x.size()), egx(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    ey[i] = x[i] > 0 ? x[i] : 0.0f;
    egx[i] = x[i] > 0 ? dy[i] : 0.0f;
  }
  EXPECT_EQ(download(y), ey);
  EXPECT_EQ(download(gx), egx);
}

}  // namespace
}  // namespace lb::cuda
