#pragma once
// The gradient bucket size `comm.fusion_bytes: "auto"` is meant to resolve to
// (issue 22 item 1), as one rule that lb-train and the simulator can both
// call: header-only and free of MPI, as bucket_plan.hpp. Not yet wired into
// the spec, GradientSync or the simulator (see the branch report).
//
// Two bounds pull against each other:
//  * latency: a ring all-reduce of B bytes over p ranks takes
//    2(p-1)·α + 2(p-1)/p·B/β; its latency part stays below
//    kAutoFusionLatencyShare of its bandwidth part once B ≥ p·α·β / share.
//    Buckets much smaller than that pay the ring's steps over and over.
//  * overlap: backward hands buckets over as it goes, and the last bucket's
//    all-reduce is exposed after backward ends; keeping it at most
//    1/kAutoFusionMinBuckets of the gradient set keeps the exposed part small.
// The rule takes the smallest bucket the latency bound allows (small buckets
// start early, stay in cache and pipeline with backward), but never more than
// the overlap bound and never less than kMinAutoFusionBytes, in whole MiB.
//
// Checked against figures measured or modelled before this rule existed:
//  * shared memory here (4 ranks, α of microseconds, β of a few GB/s):
//    p·α·β / share is well under 1 MiB, so 1 MiB; the measurement had
//    1-4 MiB buckets fastest for resnet50 at np 4.
//  * the seed's network (simulator/VALIDATION.md, hierarchical at 2,048 GPUs:
//    256 leaders, ≈ 8 µs per step, 100 Gb/s): the latency bound (256 MB) is
//    above the overlap bound, which for resnet50's 102 MB is 16 MiB, the best
//    fusion size of that table at 2,048 GPUs (90.5 % efficiency; 64 MiB gave
//    84.9 %, after issue 20).
#include <algorithm>
#include <cstdint>

namespace lb {

inline constexpr std::int64_t kMiB = std::int64_t(1) << 20;
inline constexpr std::int64_t kMinAutoFusionBytes = kMiB;
inline constexpr int kAutoFusionMinBuckets = 6;
inline constexpr double kAutoFusionLatencyShare = 0.1;

// The ring whose steps every bucket pays: all ranks for ring, the group
// leaders for hierarchical, a column for torus2d.
struct FusionRing {
  int ranks = 1;
  double latency_s = 0;              // one step's latency
  double bandwidth_bytes_per_s = 0;  // one link's bandwidth
};

// The bucket size in fp32 bytes (bucket_plan.hpp's unit) for a gradient set
// of `gradient_bytes` (fp32) synchronised over `ring`.
inline std::int64_t auto_fusion_bytes(std::int64_t gradient_bytes, const FusionRing& ring) {
  const double latency_bound =
      double(std::max(ring.ranks, 1)) * ring.latency_s * ring.bandwidth_bytes_per_s / kAutoFusionLatencyShare;
  const double overlap_bound = double(std::max<std::int64_t>(gradient_bytes, 0)) / kAutoFusionMinBuckets;
  // Written so that a NaN latency bound (unknown link figures) gives the overlap bound.
  const double bytes = latency_bound < overlap_bound ? latency_bound : overlap_bound;
  const auto whole_mib = static_cast<std::int64_t>(bytes / double(kMiB)) * kMiB;
  return std::max(whole_mib, kMinAutoFusionBytes);
}

}  // namespace lb
