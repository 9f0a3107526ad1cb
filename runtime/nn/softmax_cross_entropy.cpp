#include "runtime/nn/softmax_cross_entropy.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace lb {

float SoftmaxCrossEntropy::forward(const Tensor& logits, std::span<const std::int32_t> labels,
                                   float label_smoothing) {
  if (logits.shape().size() != 2) {
    throw std::invalid_argument("softmax cross-entropy: logits must be (N, K), got " +
                                to_string(logits.shape()));
  }
  const std::int64_t n = logits.dim(0);
  const std::int64_t k = logits.dim(1);
  if (static_cast<std::int64_t>(labels.size()) != n) {
    throw std::invalid_argument("softmax cross-entropy: " + std::to_string(labels.size()) +
                                " labels for " + std::to_string(n) + " rows");
  }
  if (!(label_smoothing >= 0.0f && label_smoothing < 1.0f)) {
    throw std::invalid_argument("softmax cross-entropy: label smoothing must be in [0, 1)");
  }
  for (std::int32_t y : labels) {
    if (y < 0 || y >= k) {
      throw std::invalid_argument("softmax cross-entropy: label " + std::to_string(y) +
                                  " outside [0, " + std::to_string(k) + ")");
    }
  }
  probs_ = logits;
  labels_.assign(labels.begin(), labels.end());
  smoothing_ = label_smoothing;
  correct_ = 0;
  double total = 0;
  for (std::int64_t r = 0; r < n; ++r) total += row_loss(r, labels_[r]);
  return n > 0 ? static_cast<float>(total / double(n)) : 0.0f;
}

// Turns row `row` of probs_ (holding the logits) into probabilities and
// returns its loss, lse − Σ_k target_k·z_k, with the maximum subtracted
// before exponentiating so large logits cannot overflow.
float SoftmaxCrossEntropy::row_loss(std::int64_t row, std::int32_t label) {
  const std::int64_t k = probs_.dim(1);
  float* z = probs_.data() + row * k;
  std::int64_t argmax = 0;
  for (std::int64_t j = 1; j < k; ++j) {
    if (z[j] > z[argmax]) argmax = j;
  }
  if (argmax == label) ++correct_;
  const float zmax = z[argmax];
  float sum_exp = 0.0f;
  float sum_z = 0.0f;
  for (std::int64_t j = 0; j < k; ++j) sum_z += z[j] - zmax;
  const float z_label = z[label] - zmax;
  for (std::int64_t j = 0; j < k; ++j) {
    z[j] = std::exp(z[j] - zmax);
    sum_exp += z[j];
  }
  const float inv = 1.0f / sum_exp;
  for (std::int64_t j = 0; j < k; ++j) z[j] *= inv;
  const float lse = std::log(sum_exp);
  const float eps = smoothing_;
  return lse - (1.0f - eps) * z_label - eps / float(k) * sum_z;
}

const Tensor& SoftmaxCrossEntropy::backward(float loss_scale) {
  if (probs_.shape().size() != 2)
    throw std::logic_error("softmax cross-entropy: backward before forward");
  const std::int64_t n = probs_.dim(0);
  const std::int64_t k = probs_.dim(1);
  dlogits_.reshape(probs_.shape());
  const float scale = loss_scale / float(n);
  const float off = smoothing_ / float(k);
  const float on = 1.0f - smoothing_ + off;
  for (std::int64_t r = 0; r < n; ++r) {
    const float* p = probs_.data() + r * k;
    float* d = dlogits_.data() + r * k;
    for (std::int64_t j = 0; j < k; ++j) d[j] = scale * (p[j] - (j == labels_[r] ? on : off));
  }
  return dlogits_;
}

}  // namespace lb
