#pragma once
// The gradient noise scale of McCandlish et al. 2018 ("An Empirical Model of
// Large-Batch Training", arXiv 1812.06162): B_simple = tr(Sigma) / |G|^2,
// where G is the true gradient and Sigma the per-example gradient covariance.
// It predicts the critical batch size beyond which larger batches stop
// cutting the steps to a target.
//
// Each measurement gives the squared norms of two gradients of one step, taken
// with the same weights over B_small and B_big images. Since
// E|G_B|^2 = |G|^2 + tr(Sigma)/B, two batch sizes give unbiased estimates
//   |G|^2     ~ (B_big |G_big|^2 - B_small |G_small|^2) / (B_big - B_small)
//   tr(Sigma) ~ (|G_small|^2 - |G_big|^2) / (1/B_small - 1/B_big)
// (the paper's Appendix A). One measurement is noisy, so each term is
// smoothed by a bias-corrected exponential average before the ratio is
// taken, as the paper and gpt-neox's estimator do.
#include <cstdint>
#include <optional>

namespace lb {

// Squared L2 norms of the loss gradient (unscaled, before weight decay) over
// two batch sizes of the same step.
struct GradientNormSample {
  double b_small = 0, b_big = 0;    // images in each gradient
  double g2_small = 0, g2_big = 0;  // |G_small|^2 (mean over the small gradients) and |G_big|^2
};

struct NoiseScaleEstimate {
  double g2 = 0;           // smoothed estimate of |G|^2
  double trace_sigma = 0;  // smoothed estimate of tr(Sigma)
  double b_simple = 0;     // trace_sigma / g2; infinite while g2 <= 0
};

class NoiseScaleEstimator {
 public:
  // `decay`: weight of the past in each exponential average, in [0, 1).
  explicit NoiseScaleEstimator(double decay);

  // Adds one measurement and returns the smoothed estimate. Throws
  // std::invalid_argument unless 0 < b_small < b_big and both norms are finite.
  NoiseScaleEstimate add(const GradientNormSample& sample);
  std::optional<NoiseScaleEstimate> current() const;

  // The averages' state, for checkpoints: a resumed run continues them exactly.
  struct State {
    double g2_sum = 0, trace_sum = 0;  // un-normalised exponential averages
    double weight = 0;                 // 1 - decay^n: their bias correction
    std::int64_t count = 0;            // measurements so far
  };
  State state() const { return state_; }
  void restore(const State& state) { state_ = state; }

 private:
  double decay_;
  State state_;
};

}  // namespace lb
