#pragma once
// Tensor fusion's bucket plan, header-only and free of MPI so that the
// simulator (which never links lb_comm) sends exactly the buckets the runtime
// sends. Gradients are packed in backward order into buckets of at most
// fusion_bytes (0 = one tensor per bucket).
#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

namespace lb {

struct Bucket {
  std::vector<std::size_t> tensors;  // indices into the backward-ordered list
  std::size_t elements = 0;
};

// Greedy packing in backward order; a tensor larger than the limit gets a
// bucket of its own. `sizes` are element counts of fp32 tensors.
inline std::vector<Bucket> plan_buckets(std::span<const std::size_t> sizes,
                                        std::int64_t fusion_bytes) {
  std::vector<Bucket> buckets;
  const auto limit = static_cast<std::size_t>(std::max<std::int64_t>(fusion_bytes, 0));
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const std::size_t bytes = sizes[i] * sizeof(float);
    const bool fits =
        !buckets.empty() && limit > 0 && (buckets.back().elements * sizeof(float) + bytes) <= limit;
    if (!fits) buckets.emplace_back();
    buckets.back().tensors.push_back(i);
    buckets.back().elements += sizes[i];
  }
  return buckets;
}

}  // namespace lb
