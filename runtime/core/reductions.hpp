#pragma once
// Reductions over host float arrays, accumulated in double.
#include <cstddef>
#include <span>

namespace lb {

// Sum of squares. Four independent partial sums let the compiler vectorise
// the loop without reassociating a single chain.
inline double squared_norm(std::span<const float> values) {
  double partial[4] = {0, 0, 0, 0};
  const std::size_t n = values.size();
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (std::size_t k = 0; k < 4; ++k) partial[k] += double(values[i + k]) * double(values[i + k]);
  }
  for (; i < n; ++i) partial[0] += double(values[i]) * double(values[i]);
  return (partial[0] + partial[1]) + (partial[2] + partial[3]);
}

}  // namespace lb
