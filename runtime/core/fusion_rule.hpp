#pragma once
// The gradient bucket size that `comm.fusion_bytes: "auto"` (the default)
// resolves to: one rule for lb-train (runtime/comm/gradient_sync.cpp,
// resolve_fusion_bytes) and the simulator (simulator/scaling.cpp), header-only
// and free of MPI.
//
// Two bounds pull against each other:
//  * latency: an all-reduce of B bytes takes about fixed_s + per_byte_s·B
//    (a ring over p ranks: fixed 2(p-1)·α, per byte 2(p-1)/p/β). Its fixed
//    part stays below kAutoFusionLatencyShare of its bandwidth part once
//    B ≥ fixed_s / per_byte_s / share (for a ring p·α·β / share). Buckets much
//    smaller than that pay the collective's latency over and over.
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
#include <optional>

namespace lb {

inline constexpr std::int64_t kMiB = std::int64_t(1) << 20;
inline constexpr std::int64_t kMinAutoFusionBytes = kMiB;
inline constexpr int kAutoFusionMinBuckets = 6;
inline constexpr double kAutoFusionLatencyShare = 0.1;

// One all-reduce of B bytes takes fixed_s + per_byte_s·B.
struct AllreduceCost {
  double fixed_s = 0;
  double per_byte_s = 0;
};

// A link's figures: one message step's latency and one direction's bandwidth.
struct LinkFigures {
  double latency_s = 0;
  double bandwidth_bytes_per_s = 0;
};

// What lb-train assumes when nothing was measured (no comm.auto_calibration):
// ranks on one node exchange through shared memory (Open MPI's vader: about
// a microsecond per message, plus our ring's own step; a copy through the
// memory system at a few GB/s per rank when all ranks copy at once); ranks on
// several nodes, through a 100 Gb/s network at about 10 µs per step (RDMA
// fabrics are faster, TCP over Ethernet slower: the rule's latency bound
// then usually gives way to the overlap bound, so the exact figure matters
// little).
inline constexpr LinkFigures kSharedMemoryLink{2e-6, 5e9};
inline constexpr LinkFigures kNetworkLink{10e-6, 12.5e9};
// GPUs of one node under NCCL: a few microseconds per step over NVLink or
// PCIe, tens of GB/s and more (not measured here: no GPU has run this code).
inline constexpr LinkFigures kGpuNodeLink{5e-6, 50e9};

// The ring whose steps every bucket pays: all ranks for ring, the group
// leaders for hierarchical, a column for torus2d.
struct FusionRing {
  int ranks = 1;
  double latency_s = 0;              // one step's latency
  double bandwidth_bytes_per_s = 0;  // one link's bandwidth
};

inline AllreduceCost ring_cost(const FusionRing& ring) {
  const double p = std::max(ring.ranks, 1);
  return {2 * (p - 1) * ring.latency_s, 2 * (p - 1) / p / ring.bandwidth_bytes_per_s};
}

// The bucket size in fp32 bytes (bucket_plan.hpp's unit) for a gradient set
// of `gradient_bytes` (fp32) synchronised by all-reduces that cost `cost`.
inline std::int64_t auto_fusion_bytes(std::int64_t gradient_bytes, const AllreduceCost& cost) {
  // No fixed cost (one rank) needs no minimum size; unknown figures (NaN)
  // fall through to the overlap bound.
  const double latency_bound =
      cost.fixed_s == 0 ? 0.0 : cost.fixed_s / cost.per_byte_s / kAutoFusionLatencyShare;
  const double overlap_bound = double(std::max<std::int64_t>(gradient_bytes, 0)) / kAutoFusionMinBuckets;
  const double bytes = latency_bound < overlap_bound ? latency_bound : overlap_bound;
  const auto whole_mib = static_cast<std::int64_t>(bytes / double(kMiB)) * kMiB;
  return std::max(whole_mib, kMinAutoFusionBytes);
}

inline std::int64_t auto_fusion_bytes(std::int64_t gradient_bytes, const FusionRing& ring) {
  return auto_fusion_bytes(gradient_bytes, ring_cost(ring));
}

// comm.fusion_bytes as a job runs it: the spec's size; for "auto" (nullopt)
// the rule with the all-reduce's measured cost when there is one (from
// comm.auto_calibration), else with a ring of `ring_ranks` over `link`.
inline std::int64_t resolve_fusion_bytes(std::optional<std::int64_t> configured,
                                         std::int64_t gradient_bytes,
                                         const std::optional<AllreduceCost>& measured,
                                         int ring_ranks, LinkFigures link) {
  if (configured) return *configured;
  if (measured) return auto_fusion_bytes(gradient_bytes, *measured);
  return auto_fusion_bytes(gradient_bytes, FusionRing{ring_ranks, link.latency_s, link.bandwidth_bytes_per_s});
}

}  // namespace lb
