#pragma once
// Finite-difference gradient checks for layers. The loss is L = sum(y * w)
// for a fixed random weighting w, so dL/dy = w; backward must then produce
// dL/dx and dL/dparam matching central differences of L.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "runtime/nn/layer.hpp"

namespace lb::testing {

inline Tensor random_tensor(const Shape& shape, std::uint64_t seed, float scale = 1.0f) {
  Tensor t(shape);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  for (auto& v : t.span()) v = normal(rng);
  return t;
}

inline double weighted_sum(const Tensor& y, const Tensor& w) {
  double s = 0;
  for (std::int64_t i = 0; i < y.numel(); ++i) s += double(y[i]) * w[i];
  return s;
}

struct GradCheckOptions {
  double step = 1e-2;       // finite-difference step (fp32 needs a large one)
  double tolerance = 2e-2;  // max |analytic - numeric| / max(1, |numeric|) scale
  int max_points = 40;      // entries probed per tensor
  Context ctx{};            // mode train, fp32
};

// Compares the analytic gradient of `layer` at `x` against central
// differences, for the input and every parameter. Reports each mismatch.
inline void expect_gradients_match(Layer& layer, Tensor x, const GradCheckOptions& opt = {}) {
  const Tensor& y0 = layer.forward(x, opt.ctx);
  const Tensor w = random_tensor(y0.shape(), 1234);
  const Tensor dx = layer.backward(w, opt.ctx);  // copy: later forwards reuse buffers
  std::vector<Tensor> dparams;
  for (Param* p : layer.params()) dparams.push_back(p->grad);

  auto loss = [&]() { return weighted_sum(layer.forward(x, opt.ctx), w); };
  auto probe = [&](Tensor& target, const Tensor& analytic, const std::string& what) {
    ASSERT_EQ(target.numel(), analytic.numel()) << what;
    const std::int64_t n = target.numel();
    const std::int64_t stride = std::max<std::int64_t>(1, n / opt.max_points);
    for (std::int64_t i = 0; i < n; i += stride) {
      const float saved = target[i];
      target[i] = saved + float(opt.step);
      const double plus = loss();
      target[i] = saved - float(opt.step);
      const double minus = loss();
      target[i] = saved;
      const double numeric = (plus - minus) / (2 * opt.step);
      const double scale = std::max(1.0, std::abs(numeric));
      EXPECT_NEAR(analytic[i], numeric, opt.tolerance * scale) << what << " index " << i;
    }
  };
  if (layer.needs_input_grad()) probe(x, dx, layer.name() + " input");
  auto params = layer.params();
  for (std::size_t k = 0; k < params.size(); ++k)
    probe(params[k]->value, dparams[k], params[k]->name);
}

}  // namespace lb::testing
