#pragma once
// The gradient bucket size that `comm.fusion_bytes: "auto"` (the default)
// resolves to: one rule for lb-train (runtime/comm/gradient_sync.cpp and the
// CUDA engine) and the simulator (simulator/scaling.cpp), header-only and
// free of MPI.
//
// Over a network, two bounds pull against each other:
//  * latency: an all-reduce of B bytes takes about fixed_s + per_byte_s·B
//    (a ring over p ranks: fixed 2(p-1)·α, per byte 2(p-1)/p/β). Its fixed
//    part stays below kAutoFusionLatencyShare of its bandwidth part once
//    B ≥ fixed_s / per_byte_s / share (for a ring p·α·β / share): the whole
//    sync is then within that share of what one huge bucket would take.
//  * overlap: backward hands buckets over as it goes, and the last bucket's
//    all-reduce is exposed after backward ends; keeping it at most
//    1/kAutoFusionMinBuckets of the gradient set keeps the exposed part small.
// The rule takes the smallest bucket the latency bound allows (small buckets
// start early and pipeline with backward), but never more than the overlap
// bound and never less than kMinAutoFusionBytes, in whole MiB.
//
// On shared memory (all ranks on one CPU node) the "link" is the memory
// system: an all-reduce is copies through the caches, and each bucket's
// fixed cost (the ring's message steps, a hand-off to the communication
// thread, and, when ranks outnumber the cores, waiting for a peer to be
// scheduled) is large against copies at cache speed, while a bucket that
// no longer fits its share of the last-level cache is copied at DRAM speed.
// So the bucket is the largest that stays in cache: the cache over the
// node's ranks, within the overlap bound (and the latency bound's minimum
// when the cost was measured).
//
// Checked against measurements (bench/README.md, issue 22) and the model:
//  * here (2-core EPYC VM, 32 MiB L3), resnet50 at np 4: time grows by about
//    0.2 ms per bucket up to 8 MiB and the 16 and 64 MiB buckets are slower
//    again; the cache bound, 32 MiB / 4 = 8 MiB, was the fastest size.
//  * the seed's network (simulator/VALIDATION.md, hierarchical at 2,048 GPUs:
//    256 leaders, ≈ 10 µs per step, 100 Gb/s): the latency bound is above
//    the overlap bound, which for resnet50's 102 MB is 16 MiB, the best
//    fusion size of that table at 2,048 GPUs (90.5 % efficiency; 64 MiB gave
//    84.9 %, after issue 20).
#include <algorithm>
#include <cstdint>
#include <optional>

namespace lb {

inline constexpr std::int64_t kMiB = std::int64_t(1) << 20;
inline constexpr std::int64_t kMinAutoFusionBytes = kMiB;
inline constexpr int kAutoFusionMinBuckets = 6;
inline constexpr double kAutoFusionLatencyShare = 0.05;

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

// What lb-train assumes of a network when nothing was measured (no
// comm.auto_calibration): 100 Gb/s at about 10 µs per step (RDMA fabrics
// are faster, TCP over Ethernet slower: the latency bound then usually gives
// way to the overlap bound, so the exact figure matters little).
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
inline double overlap_bound(std::int64_t gradient_bytes) {
  return double(std::max<std::int64_t>(gradient_bytes, 0)) / kAutoFusionMinBuckets;
}

inline std::int64_t whole_mib_at_least_the_floor(double bytes) {
  const auto whole_mib = static_cast<std::int64_t>(bytes / double(kMiB)) * kMiB;
  return std::max(whole_mib, kMinAutoFusionBytes);
}

inline std::int64_t auto_fusion_bytes(std::int64_t gradient_bytes, const AllreduceCost& cost) {
  // No fixed cost (one rank) needs no minimum size; unknown figures (NaN)
  // fall through to the overlap bound.
  const double latency_bound =
      cost.fixed_s == 0 ? 0.0 : cost.fixed_s / cost.per_byte_s / kAutoFusionLatencyShare;
  const double overlap = overlap_bound(gradient_bytes);
  return whole_mib_at_least_the_floor(latency_bound < overlap ? latency_bound : overlap);
}

// Shared memory: the largest bucket within the node's ranks' share of the
// last-level cache and the overlap bound (no cache size known: the overlap bound).
inline std::int64_t shared_memory_fusion_bytes(std::int64_t gradient_bytes,
                                               std::int64_t cache_bytes, int ranks_on_node) {
  double bytes = overlap_bound(gradient_bytes);
  if (cache_bytes > 0) bytes = std::min(bytes, double(cache_bytes) / std::max(ranks_on_node, 1));
  return whole_mib_at_least_the_floor(bytes);
}

inline std::int64_t auto_fusion_bytes(std::int64_t gradient_bytes, const FusionRing& ring) {
  return auto_fusion_bytes(gradient_bytes, ring_cost(ring));
}

// What "auto" knows of the job that runs the buckets.
struct FusionJob {
  std::int64_t gradient_bytes = 0;        // the whole gradient set, fp32
  std::optional<AllreduceCost> measured;  // comm.auto_calibration's, when given
  FusionRing ring;                        // the ring a large bucket runs on
  // > 0: all ranks share one CPU node whose last-level cache is this big.
  std::int64_t shared_cache_bytes = 0;
  int ranks_on_node = 1;
};

// comm.fusion_bytes as a job runs it: the spec's size; for "auto" (nullopt)
// the latency rule with the measured cost, or else with the ring's figures;
// on one CPU node the shared-memory rule instead, or with a measured cost
// the smaller of the two.
inline std::int64_t resolve_fusion_bytes(std::optional<std::int64_t> configured,
                                         const FusionJob& job) {
  if (configured) return *configured;
  if (job.shared_cache_bytes > 0 && !job.measured) {
    return shared_memory_fusion_bytes(job.gradient_bytes, job.shared_cache_bytes,
                                      job.ranks_on_node);
  }
  const std::int64_t by_latency =
      auto_fusion_bytes(job.gradient_bytes, job.measured ? *job.measured : ring_cost(job.ring));
  if (job.shared_cache_bytes > 0) {
    return std::min(by_latency, shared_memory_fusion_bytes(
                                    job.gradient_bytes, job.shared_cache_bytes, job.ranks_on_node));
  }
  return by_latency;
}

}  // namespace lb
