#pragma once
// Launch shapes shared by the backend's kernels (nvcc only).
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>

namespace lb::cuda {

inline constexpr int kThreads = 256;  // threads per block of the element-wise kernels

// Blocks for a grid-stride loop over `count` elements: one element per
// thread up to a bound that keeps every SM busy without a block per element
// for huge tensors (the loops stride over the rest).
inline unsigned blocks_for(std::int64_t count) {
  constexpr std::int64_t kMaxBlocks = 1 << 16;
  const std::int64_t blocks = (count + kThreads - 1) / kThreads;
  return static_cast<unsigned>(std::clamp<std::int64_t>(blocks, 1, kMaxBlocks));
}

// The entry of a sorted `first` table (first[i] = index of the first work
// item of entry i, entries without items repeating the next entry's value)
// that work item `item` belongs to: the last i with first[i] <= item.
template <class Entry, class First>
__device__ inline int entry_of(const Entry* entries, int count, std::int32_t item, First first) {
  int lo = 0, hi = count;  // answer in [lo, hi)
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    if (first(entries[mid]) <= item) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return lo;
}

}  // namespace lb::cuda
