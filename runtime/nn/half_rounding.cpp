#include "runtime/nn/half_rounding.hpp"

#include <omp.h>

#include <algorithm>
#include <cstdint>

#include "runtime/core/half.hpp"

namespace lb {

void round_to_half_parallel(std::span<float> values) {
  constexpr std::int64_t kMinPerThread = 1 << 15;  // below this a thread costs more than it saves
  const auto n = static_cast<std::int64_t>(values.size());
  const int threads =
      static_cast<int>(std::min<std::int64_t>(omp_get_max_threads(), n / kMinPerThread));
  if (threads <= 1) return round_to_half(values);
  // Chunks are multiples of 8 values, the F16C path's vector width.
  const std::int64_t chunk = (n / threads + 7) / 8 * 8;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int t = 0; t < threads; ++t) {
    const std::int64_t begin = std::min(n, t * chunk), end = std::min(n, begin + chunk);
    round_to_half(values.subspan(begin, end - begin));
  }
}

}  // namespace lb
