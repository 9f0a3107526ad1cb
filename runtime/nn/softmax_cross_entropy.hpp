#pragma once
// Softmax followed by cross-entropy against (optionally label-smoothed) hard
// labels, averaged over the batch. Always computed in fp32: in fp16 training
// the logits are half values but the loss and its log-sum-exp are not, as in
// mixed-precision practice.
#include <cstdint>
#include <span>
#include <vector>

#include "runtime/tensor/tensor.hpp"

namespace lb {

class SoftmaxCrossEntropy {
 public:
  // Returns the mean loss over the N rows of `logits` (N, K). With smoothing
  // ε the target of a row is (1-ε)·onehot(label) + ε/K. Throws
  // std::invalid_argument on a label outside [0, K) or a size mismatch.
  float forward(const Tensor& logits, std::span<const std::int32_t> labels,
                float label_smoothing = 0.0f);
  // dlogits = loss_scale · (softmax − target) / N, for the last forward.
  const Tensor& backward(float loss_scale);
  // Rows of the last forward whose argmax (first on ties) equals the label.
  std::int64_t correct() const { return correct_; }
  // Softmax probabilities of the last forward.
  const Tensor& probabilities() const { return probs_; }

 private:
  float row_loss(std::int64_t row, std::int32_t label);

  Tensor probs_;
  Tensor dlogits_;
  std::vector<std::int32_t> labels_;
  float smoothing_ = 0.0f;
  std::int64_t correct_ = 0;
};

}  // namespace lb
