#pragma once
#include <array>
#include <string_view>
#include <utility>

#include "runtime/core/choice.hpp"

namespace lb {

// fp32: everything in fp32. fp16: weights, activations and gradients stored as
// binary16 values, fp32 master weights updated by the optimizer.
enum class Precision { fp32, fp16 };

constexpr std::array<std::pair<Precision, std::string_view>, 2> choices(Precision) {
  return {{{Precision::fp32, "fp32"}, {Precision::fp16, "fp16"}}};
}

constexpr std::string_view to_string(Precision p) { return choice_name(p); }

}  // namespace lb
