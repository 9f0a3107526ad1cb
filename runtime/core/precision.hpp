#pragma once
#include <string_view>

namespace lb {

// fp32: everything in fp32. fp16: weights, activations and gradients stored as
// binary16 values, fp32 master weights updated by the optimizer.
enum class Precision { fp32, fp16 };

constexpr std::string_view to_string(Precision p) { return p == Precision::fp16 ? "fp16" : "fp32"; }

}  // namespace lb
