#pragma once
// Per-element formulas shared by the CPU backend (g++) and the CUDA kernels
// (nvcc), so that the CPU tests (tests/optim) cover the arithmetic the GPU
// runs. Each function is the body of one loop iteration; the callers own the
// loops, the memory passes and the reductions. Evaluation order inside each
// function is part of its contract: the CPU optimizers are bitwise
// reproducible, and the CUDA backend compiles these without FMA contraction
// (runtime/backends/cuda/CMakeLists.txt) to match them. (The CPU build
// targets baseline x86-64, which has no FMA; building it with -mfma or
// -march=native would let g++ contract and change the CPU's bits.)
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define LB_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define LB_HOST_DEVICE inline
#endif

namespace lb::math {

// A parameter element after one optimizer step.
struct WeightAndVelocity {
  float weight;
  float velocity;
};

// The true gradient from a loss-scaled one (grad_scale = 1 / loss scale).
LB_HOST_DEVICE float unscale(float grad, float grad_scale) { return grad * grad_scale; }

// Inf and NaN are exactly the floats whose exponent bits are all ones.
LB_HOST_DEVICE bool is_inf_or_nan(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return (bits & 0x7f800000u) == 0x7f800000u;
}

struct LarsCoeffs {
  float grad_scale;
  float weight_decay;  // 0 for a slot without weight decay
  float momentum;
  float rate;  // lr * local_lr
};

// v = m*v + rate*d; w -= v (plain) or w -= m*v + rate*d (Nesterov), with
// d = g*grad_scale + wd*w. The formulas are explained in runtime/optim/lars.cpp.
template <bool kNesterov>
LB_HOST_DEVICE WeightAndVelocity lars_update(float w, float g, float v, LarsCoeffs c) {
  const float d = unscale(g, c.grad_scale) + c.weight_decay * w;
  const float step = c.rate * d;
  const float velocity = c.momentum * v + step;
  if constexpr (kNesterov) {
    return {w - (c.momentum * velocity + step), velocity};
  } else {
    return {w - velocity, velocity};
  }
}

// The order in which the LARS norms add their squares, fixed so that the
// CPU (runtime/optim/lars.cpp) and the GPU kernels give the same bits: each
// tensor is cut into blocks of kLarsNormBlock elements; within a block, lane
// j sums the squares of elements j, j+8, j+16, ... of the whole groups of
// kLarsNormLanes, the lanes are added pairwise ((0+1)+(2+3))+((4+5)+(6+7)),
// then the squares of the block's last len % 8 elements in order; the
// tensor's total adds its block totals in block order, starting from 0.
inline constexpr std::size_t kLarsNormBlock = 4096;
inline constexpr std::size_t kLarsNormLanes = 8;

// LARS local learning rate (trust ratio) of a tensor from the L2 norms of its
// weight and of its true gradient: eta*||w|| / (||g|| + wd*||w|| + epsilon),
// 1 when either norm is 0 (a zero tensor would never move, a vanished
// gradient would get a ratio set by wd and epsilon alone), at most 1 with
// clip (LARC).
LB_HOST_DEVICE double lars_trust_ratio(double eta, double epsilon, bool clip, double weight_norm,
                                       double grad_norm, double weight_decay) {
  if (weight_norm == 0.0 || grad_norm == 0.0) return 1.0;
  const double local = eta * weight_norm / (grad_norm + weight_decay * weight_norm + epsilon);
  return clip && local > 1.0 ? 1.0 : local;
}

// ||g|| of the true gradient from the sum of squares of the loss-scaled one:
// the scale is applied once per tensor rather than once per element.
LB_HOST_DEVICE double true_grad_norm(float grad_scale, double scaled_grad_square_sum) {
  return std::fabs(static_cast<double>(grad_scale)) * std::sqrt(scaled_grad_square_sum);
}

struct SgdCoeffs {
  float grad_scale;
  float weight_decay;  // 0 for a slot without weight decay
  float momentum;
  float lr;
};

// Momentum SGD, PyTorch convention (dampening 0): v = m*v + d; w -= lr*v
// (plain) or w -= lr*(d + m*v) (Nesterov), with d = g*grad_scale + wd*w.
template <bool kNesterov>
LB_HOST_DEVICE WeightAndVelocity sgd_update(float w, float g, float v, SgdCoeffs c) {
  const float d = unscale(g, c.grad_scale) + c.weight_decay * w;
  const float velocity = c.momentum * v + d;
  if constexpr (kNesterov) {
    return {w - c.lr * (d + c.momentum * velocity), velocity};
  } else {
    return {w - c.lr * velocity, velocity};
  }
}

// Written so that a NaN input stays NaN (as in PyTorch) rather than becoming
// 0: fp16 overflow must stay visible to the loss scaler.
LB_HOST_DEVICE float relu(float x) { return x < 0.0f ? 0.0f : x; }

// The gradient passes where the forward output was positive.
LB_HOST_DEVICE float relu_backward(float y, float dy) { return y > 0.0f ? dy : 0.0f; }

// d loss / d logit for one element of softmax cross-entropy with label
// smoothing: scale * (p - target), target = on for the label, off elsewhere.
LB_HOST_DEVICE float softmax_xent_grad(float prob, bool is_label, float on, float off,
                                       float scale) {
  return scale * (prob - (is_label ? on : off));
}

}  // namespace lb::math
