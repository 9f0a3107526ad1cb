#pragma once
#include <string>

#include "runtime/tensor/tensor.hpp"

namespace lb {

// A trainable tensor of a layer. `value` is what forward reads (in fp16 mode a
// half-rounded copy of the optimizer's fp32 master weights); `grad` is written
// by backward (overwritten each step, never accumulated across steps).
struct Param {
  std::string name;  // "conv1.weight", set by the owning layer
  Tensor value;
  Tensor grad;
  bool is_bias_or_norm = false;  // bias and BatchNorm γ/β: no weight decay by default
  bool half_storage = true;      // false for BatchNorm γ/β, kept fp32 as cuDNN does
};

}  // namespace lb
