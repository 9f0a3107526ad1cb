// The gradient noise scale estimator (McCandlish et al. 2018, App. A) on a
// synthetic problem whose true gradient and per-example covariance are known.
#include "runtime/train/noise_scale.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

namespace lb {
namespace {

// Per-example gradients g_i = G + e_i, e_i ~ N(0, diag(sigma^2)): |G|^2 and
// tr(Sigma) = sum(sigma^2) are known, so B_simple is too.
class SyntheticGradients {
 public:
  SyntheticGradients(std::vector<double> mean, std::vector<double> sigma, std::uint64_t seed)
      : mean_(std::move(mean)), sigma_(std::move(sigma)), rng_(seed) {}

  double true_g2() const {
    double s = 0;
    for (double m : mean_) s += m * m;
    return s;
  }
  double true_trace() const {
    double s = 0;
    for (double v : sigma_) s += v * v;
    return s;
  }

  // One measurement as the runtime takes it: the small batch is the first
  // b_small examples of the big batch (a rank's share, or the first half).
  GradientNormSample measure(int b_small, int b_big) {
    std::vector<double> sum(mean_.size(), 0.0), small(mean_.size(), 0.0);
    std::normal_distribution<double> normal;
    for (int i = 0; i < b_big; ++i) {
      for (std::size_t d = 0; d < mean_.size(); ++d) {
        const double g = mean_[d] + sigma_[d] * normal(rng_);
        sum[d] += g;
        if (i < b_small) small[d] += g;
      }
    }
    GradientNormSample s{double(b_small), double(b_big), 0, 0};
    for (std::size_t d = 0; d < mean_.size(); ++d) {
      s.g2_small += std::pow(small[d] / b_small, 2);
      s.g2_big += std::pow(sum[d] / b_big, 2);
    }
    return s;
  }

 private:
  std::vector<double> mean_, sigma_;
  std::mt19937_64 rng_;
};

TEST(NoiseScale, RecoversKnownBSimpleWithinTenPercent) {
  // 64 dimensions, |G|^2 = 64 * 0.01 = 0.64, tr(Sigma) = 64 * 1 = 64: B_simple = 100.
  SyntheticGradients problem(std::vector<double>(64, 0.1), std::vector<double>(64, 1.0), 7);
  const double expected = problem.true_trace() / problem.true_g2();
  NoiseScaleEstimator estimator(0.99);
  NoiseScaleEstimate e;
  for (int i = 0; i < 2000; ++i) e = estimator.add(problem.measure(32, 64));
  EXPECT_NEAR(e.b_simple, expected, 0.10 * expected);
  EXPECT_NEAR(e.trace_sigma, problem.true_trace(), 0.10 * problem.true_trace());
  EXPECT_NEAR(e.g2, problem.true_g2(), 0.10 * problem.true_g2());
}

TEST(NoiseScale, RecoversItAcrossBatchSizesAndUnevenDimensions) {
  std::vector<double> mean, sigma;
  for (int d = 0; d < 50; ++d) {
    mean.push_back(0.05 * (d % 7) - 0.1);
    sigma.push_back(0.2 + 0.05 * (d % 5));
  }
  SyntheticGradients problem(mean, sigma, 11);
  const double expected = problem.true_trace() / problem.true_g2();
  for (const auto& [small, big] : {std::pair{8, 64}, std::pair{16, 32}}) {
    NoiseScaleEstimator estimator(0.995);
    NoiseScaleEstimate e;
    for (int i = 0; i < 3000; ++i) e = estimator.add(problem.measure(small, big));
    EXPECT_NEAR(e.b_simple, expected, 0.10 * expected) << small << " of " << big;
  }
}

TEST(NoiseScale, NoDecayGivesTheRawEstimatesOfOneMeasurement) {
  NoiseScaleEstimator estimator(0.0);
  // |G_small|^2 = 3 over 10 images, |G_big|^2 = 2 over 20:
  // |G|^2 = (20*2 - 10*3) / 10 = 1, tr = (3 - 2) / (1/10 - 1/20) = 20.
  const NoiseScaleEstimate e = estimator.add({10, 20, 3, 2});
  EXPECT_DOUBLE_EQ(e.g2, 1.0);
  EXPECT_DOUBLE_EQ(e.trace_sigma, 20.0);
  EXPECT_DOUBLE_EQ(e.b_simple, 20.0);
}

TEST(NoiseScale, BiasCorrectionMakesTheFirstEstimateTheMeasurement) {
  NoiseScaleEstimator estimator(0.95);
  const NoiseScaleEstimate e = estimator.add({10, 20, 3, 2});
  EXPECT_NEAR(e.b_simple, 20.0, 1e-12);
  EXPECT_FALSE(NoiseScaleEstimator(0.9).current().has_value());
}

TEST(NoiseScale, StateRoundTripContinuesIdentically) {
  NoiseScaleEstimator a(0.9), b(0.9);
  a.add({10, 20, 3, 2});
  a.add({10, 20, 2.5, 2.1});
  b.restore(a.state());
  const NoiseScaleEstimate ea = a.add({10, 20, 4, 1.5}), eb = b.add({10, 20, 4, 1.5});
  EXPECT_EQ(ea.b_simple, eb.b_simple);
  EXPECT_EQ(ea.g2, eb.g2);
}

TEST(NoiseScale, RejectsBatchSizesThatCannotSeparateNoiseFromSignal) {
  NoiseScaleEstimator estimator(0.9);
  EXPECT_THROW(estimator.add({20, 20, 3, 2}), std::invalid_argument);
  EXPECT_THROW(estimator.add({0, 20, 3, 2}), std::invalid_argument);
  EXPECT_THROW(estimator.add({10, 20, INFINITY, 2}), std::invalid_argument);
  EXPECT_THROW(NoiseScaleEstimator(1.0), std::invalid_argument);
}

}  // namespace
}  // namespace lb
