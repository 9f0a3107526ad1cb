#include "runtime/core/fusion_rule.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace lb {
namespace {

// resnet50's 161 gradient tensors: 25,557,032 fp32 values.
constexpr std::int64_t kResnet50Bytes = 25'557'032ll * 4;

TEST(AutoFusionBytes, SharedMemoryOfFourRanksGivesTheSmallestBucket) {
  // Latency bound 4 · 2 µs · 3 GB/s / 0.05 = 480 KB: below the 1 MiB floor.
  EXPECT_EQ(auto_fusion_bytes(kResnet50Bytes, {4, 2e-6, 3e9}), kMiB);
}

TEST(AutoFusionBytes, TheSeedsNetworkAt2048GpusGivesTheSimulatorsBest16MiB) {
  // 256 hierarchical leaders, ≈ 8 µs per ring step, 100 Gb/s: the latency
  // bound (256 MB) exceeds the overlap bound, 102 MB / 6 = 16.2 MiB.
  EXPECT_EQ(auto_fusion_bytes(kResnet50Bytes, {256, 8e-6, 12.5e9}), 16 * kMiB);
}

TEST(AutoFusionBytes, BetweenTheBoundsTheLatencyBoundInWholeMiB) {
  // 8 ranks · 5 µs · 12.5 GB/s / 0.05 = 10 MB = 9.5 MiB -> 9 MiB.
  EXPECT_EQ(auto_fusion_bytes(kResnet50Bytes, {8, 5e-6, 12.5e9}), 9 * kMiB);
}

TEST(AutoFusionBytes, GrowsWithTheRingButNeverPastTheOverlapBound) {
  std::int64_t previous = 0;
  for (int ranks = 1; ranks <= 4096; ranks *= 2) {
    const std::int64_t b = auto_fusion_bytes(kResnet50Bytes, {ranks, 5e-6, 12.5e9});
    EXPECT_GE(b, previous) << ranks;
    EXPECT_LE(b, kResnet50Bytes / kAutoFusionMinBuckets) << ranks;
    EXPECT_EQ(b % kMiB, 0) << ranks;
    previous = b;
  }
}

TEST(AutoFusionBytes, SmallModelsAndUnknownLinksGetAtLeastTheFloor) {
  EXPECT_EQ(auto_fusion_bytes(200'000, {64, 8e-6, 12.5e9}), kMinAutoFusionBytes);  // lenet-sized
  EXPECT_EQ(auto_fusion_bytes(0, {4, 2e-6, 3e9}), kMinAutoFusionBytes);
  EXPECT_EQ(auto_fusion_bytes(kResnet50Bytes, {0, 0, 0}), kMinAutoFusionBytes);
  EXPECT_EQ(auto_fusion_bytes(kResnet50Bytes, {4, std::nan(""), 3e9}), 16 * kMiB);
}

TEST(AutoFusionBytes, AMeasuredCostGivesTheRingsBoundWhenItIsARing) {
  // A ring of 8 at 5 µs and 12.5 GB/s measured as a whole: the same 9 MiB.
  const AllreduceCost cost = ring_cost({8, 5e-6, 12.5e9});
  EXPECT_NEAR(cost.fixed_s, 14 * 5e-6, 1e-12);
  EXPECT_EQ(auto_fusion_bytes(kResnet50Bytes, cost), 9 * kMiB);
  // 0.5 ms fixed, 1 GB/s: 5e-4 / 1e-9 / 0.05 = 10 MB, under the overlap bound.
  EXPECT_EQ(auto_fusion_bytes(kResnet50Bytes, AllreduceCost{5e-4, 1e-9}), 9 * kMiB);
}

// On one CPU node: the largest bucket in the ranks' share of the cache.
TEST(AutoFusionBytes, SharedMemoryTakesTheRanksShareOfTheCache) {
  // This VM: 32 MiB of L3, resnet50 at np 4 -> 8 MiB (the fastest size measured).
  EXPECT_EQ(shared_memory_fusion_bytes(kResnet50Bytes, 32 * kMiB, 4), 8 * kMiB);
  EXPECT_EQ(shared_memory_fusion_bytes(kResnet50Bytes, 32 * kMiB, 2),
            16 * kMiB);                                                      // the overlap bound
  EXPECT_EQ(shared_memory_fusion_bytes(kResnet50Bytes, 0, 4), 16 * kMiB);    // cache unknown
  EXPECT_EQ(shared_memory_fusion_bytes(kResnet50Bytes, 4 * kMiB, 8), kMiB);  // the floor
  EXPECT_EQ(shared_memory_fusion_bytes(200'000, 32 * kMiB, 4), kMiB);        // lenet-sized
}

TEST(ResolveFusionBytes, TheSpecsSizeElseTheRuleForWhereTheRanksAre) {
  FusionJob job;
  job.gradient_bytes = kResnet50Bytes;
  job.ring = {256, kNetworkLink.latency_s, kNetworkLink.bandwidth_bytes_per_s};
  EXPECT_EQ(resolve_fusion_bytes(0, job), 0);
  EXPECT_EQ(resolve_fusion_bytes(3 * kMiB, job), 3 * kMiB);
  EXPECT_EQ(resolve_fusion_bytes(std::nullopt, job), 16 * kMiB);  // network: the overlap bound
  job.shared_cache_bytes = 32 * kMiB;
  job.ranks_on_node = 4;
  EXPECT_EQ(resolve_fusion_bytes(std::nullopt, job), 8 * kMiB);  // one node: the cache
  job.measured = AllreduceCost{2e-4, 7e-10};                     // as measured here at np 4
  EXPECT_EQ(resolve_fusion_bytes(std::nullopt, job), 5 * kMiB);  // 2e-4 / 7e-10 / 0.05 = 5.7 MB
  job.shared_cache_bytes = 0;
  job.measured = AllreduceCost{1e-3, 7e-10};
  EXPECT_EQ(resolve_fusion_bytes(std::nullopt, job), 16 * kMiB);  // latency above the overlap bound
}

}  // namespace
}  // namespace lb
