#include <cfloat>
#include <stdexcept>

#include "runtime/backends/cuda/cuda_error.hpp"
#include "runtime/backends/cuda/launch_config.cuh"
#include "runtime/backends/cuda/softmax_cross_entropy.hpp"
#include "runtime/core/elementwise_math.hpp"

namespace lb::cuda {
namespace {

constexpr int kWarps = kThreads / 32;

// The block's sum of `value` (every thread gets it).
__device__ float block_sum(float value, float* shared) {
  for (int d = 16; d > 0; d /= 2) value += __shfl_xor_sync(0xffffffffu, value, d);
  if (threadIdx.x % 32 == 0) shared[threadIdx.x / 32] = value;
  __syncthreads();
  float total = 0.0f;
  for (int w = 0; w < kWarps; ++w) total += shared[w];
  __syncthreads();  // `shared` is reused by the next reduction
  return total;
}

struct Best {
  float value;
  std::int32_t index;
};

// The first maximum (lowest index among equal values), as the CPU's scan.
__device__ Best better(Best a, Best b) {
  if (b.value > a.value || (b.value == a.value && b.index < a.index)) return b;
  return a;
}

__device__ Best block_argmax(Best best, Best* shared) {
  for (int d = 16; d > 0; d /= 2) {
    const Best other{__shfl_xor_sync(0xffffffffu, best.value, d),
                     __shfl_xor_sync(0xffffffffu, best.index, d)};
    best = better(best, other);
  }
  if (threadIdx.x % 32 == 0) shared[threadIdx.x / 32] = best;
  __syncthreads();
  Best total = shared[0];
  for (int w = 1; w < kWarps; ++w) total = better(total, shared[w]);
  __syncthreads();
  return total;
}

struct Smoothing {
  float eps;
  float on;     // target at the label
  float off;    // target elsewhere
  float scale;  // loss_scale / rows
};

__global__ void softmax_xent_kernel(const float* logits, const std::int32_t* labels,
                                    std::int64_t classes, Smoothing s, float* row_loss,
                                    std::int32_t* correct, float* dlogits) {
  __shared__ float sums[kWarps];
  __shared__ Best bests[kWarps];
  const float* z = logits + blockIdx.x * classes;
  float* d = dlogits + blockIdx.x * classes;
  const std::int32_t label = labels[blockIdx.x];
  Best best{-FLT_MAX, 0};
  for (std::int64_t j = threadIdx.x; j < classes; j += blockDim.x) {
    best = better(best, Best{z[j], static_cast<std::int32_t>(j)});
  }
  best = block_argmax(best, bests);
  float sum_z = 0.0f, sum_exp = 0.0f;
  for (std::int64_t j = threadIdx.x; j < classes; j += blockDim.x) {
    sum_z += z[j] - best.value;
    sum_exp += expf(z[j] - best.value);
  }
  sum_z = block_sum(sum_z, sums);
  sum_exp = block_sum(sum_exp, sums);
  const float inverse = 1.0f / sum_exp;
  for (std::int64_t j = threadIdx.x; j < classes; j += blockDim.x) {
    const float p = expf(z[j] - best.value) * inverse;
    d[j] = math::softmax_xent_grad(p, j == label, s.on, s.off, s.scale);
  }
  if (threadIdx.x != 0) return;
  const float z_label = z[label] - best.value;
  row_loss[blockIdx.x] = logf(sum_exp) - (1.0f - s.eps) * z_label - s.eps / float(classes) * sum_z;
  correct[blockIdx.x] = best.index == label ? 1 : 0;
}

void check_shapes(SoftmaxCrossEntropyShape shape, std::size_t logits, std::size_t labels,
                  std::size_t row_loss, std::size_t correct, std::size_t dlogits) {
  const auto rows = static_cast<std::size_t>(shape.rows);
  const auto values = rows * static_cast<std::size_t>(shape.classes);
  if (logits != values || dlogits != values || labels != rows || row_loss != rows ||
      correct != rows) {
    throw std::invalid_argument("cuda::softmax_cross_entropy: span sizes do not match the shape");
  }
}

}  // namespace

void softmax_cross_entropy(SoftmaxCrossEntropyShape shape, std::span<const float> logits,
                           std::span<const std::int32_t> labels, float label_smoothing,
                           float loss_scale, std::span<float> row_loss,
                           std::span<std::int32_t> correct, std::span<float> dlogits,
                           cudaStream_t stream) {
  check_shapes(shape, logits.size(), labels.size(), row_loss.size(), correct.size(),
               dlogits.size());
  if (!(label_smoothing >= 0.0f && label_smoothing < 1.0f)) {
    throw std::invalid_argument("cuda::softmax_cross_entropy: label smoothing must be in [0, 1)");
  }
  if (shape.rows == 0) return;
  // The CPU's constants, computed the same way (runtime/nn/softmax_cross_entropy.cpp).
  const float off = label_smoothing / float(shape.classes);
  const Smoothing s{label_smoothing, 1.0f - label_smoothing + off, off,
                    loss_scale / float(shape.rows)};
  softmax_xent_kernel<<<static_cast<unsigned>(shape.rows), kThreads, 0, stream>>>(
      logits.data(), labels.data(), shape.classes, s, row_loss.data(), correct.data(),
      dlogits.data());
  LB_CUDA_CHECK_LAUNCH();
}

float mean_loss(std::span<const float> row_loss) {
  double total = 0;
  for (float loss : row_loss) total += loss;
  return row_loss.empty() ? 0.0f : static_cast<float>(total / double(row_loss.size()));
}

}  // namespace lb::cuda
