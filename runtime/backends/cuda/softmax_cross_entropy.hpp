#pragma once
// Softmax cross-entropy with label smoothing, forward and backward in one
// launch (one block per row), as runtime/nn/softmax_cross_entropy.cpp
// computes them on the CPU:
//   loss_r   = lse(z_r) - (1-eps)*z_r[y_r] - eps/K * sum_k z_r[k]   (z shifted by its max)
//   dlogits  = loss_scale / N * (softmax(z_r) - target),  target = 1-eps+eps/K at y_r, eps/K
//   elsewhere
// The backward is fused because the loss scale is known before forward.
// All spans are device memory: logits and dlogits (rows, classes) row-major,
// labels, row_loss and correct (rows). correct[r] = 1 when the first maximum
// of row r is at its label. The caller averages row_loss (mean_loss()).
// Labels must lie in [0, classes): the kernel cannot throw, so the caller
// checks them on the host where they come from (the CPU layer does).
#include <cuda_runtime_api.h>

#include <cstdint>
#include <span>

namespace lb::cuda {

struct SoftmaxCrossEntropyShape {
  std::int64_t rows;
  std::int64_t classes;
};

void softmax_cross_entropy(SoftmaxCrossEntropyShape shape, std::span<const float> logits,
                           std::span<const std::int32_t> labels, float label_smoothing,
                           float loss_scale, std::span<float> row_loss,
                           std::span<std::int32_t> correct, std::span<float> dlogits,
                           cudaStream_t stream);

// The mean over rows of `row_loss` (host memory: copied back by the caller),
// added in row order in double as the CPU does.
float mean_loss(std::span<const float> row_loss);

}  // namespace lb::cuda
