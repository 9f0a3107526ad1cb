#include "runtime/core/fusion_rule.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace lb {
namespace {

// resnet50's 161 gradient tensors: 25,557,032 fp32 values.
constexpr std::int64_t kResnet50Bytes = 25'557'032ll * 4;

TEST(AutoFusionBytes, SharedMemoryOfFourRanksGivesTheSmallestBucket) {
  // Latency bound 4 · 2 µs · 3 GB/s / 0.1 = 240 KB: below the 1 MiB floor.
  EXPECT_EQ(auto_fusion_bytes(kResnet50Bytes, {4, 2e-6, 3e9}), kMiB);
}

TEST(AutoFusionBytes, TheSeedsNetworkAt2048GpusGivesTheSimulatorsBest16MiB) {
  // 256 hierarchical leaders, ≈ 8 µs per ring step, 100 Gb/s: the latency
  // bound (256 MB) exceeds the overlap bound, 102 MB / 6 = 16.2 MiB.
  EXPECT_EQ(auto_fusion_bytes(kResnet50Bytes, {256, 8e-6, 12.5e9}), 16 * kMiB);
}

TEST(AutoFusionBytes, BetweenTheBoundsTheLatencyBoundInWholeMiB) {
  // 16 ranks · 5 µs · 12.5 GB/s / 0.1 = 10 MB = 9.5 MiB -> 9 MiB.
  EXPECT_EQ(auto_fusion_bytes(kResnet50Bytes, {16, 5e-6, 12.5e9}), 9 * kMiB);
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
  // A ring of 16 at 5 µs and 12.5 GB/s measured as a whole: the same 9 MiB.
  const AllreduceCost cost = ring_cost({16, 5e-6, 12.5e9});
  EXPECT_NEAR(cost.fixed_s, 30 * 5e-6, 1e-12);
  EXPECT_EQ(auto_fusion_bytes(kResnet50Bytes, cost), 9 * kMiB);
  // 1 ms fixed, 1 GB/s: 1e-3 / 1e-9 / 0.1 = 10 MB, under the overlap bound.
  EXPECT_EQ(auto_fusion_bytes(kResnet50Bytes, AllreduceCost{1e-3, 1e-9}), 9 * kMiB);
}

TEST(AutoFusionBytes, TheDefaultLinksGiveOneMiBOnOneNodeAndTheOverlapBoundAtScale) {
  const auto ring = [](int ranks, LinkFigures link) {
    return FusionRing{ranks, link.latency_s, link.bandwidth_bytes_per_s};
  };
  EXPECT_EQ(auto_fusion_bytes(kResnet50Bytes, ring(4, kSharedMemoryLink)), kMiB);
  EXPECT_EQ(auto_fusion_bytes(kResnet50Bytes, ring(8, kSharedMemoryLink)), kMiB);
  EXPECT_EQ(auto_fusion_bytes(kResnet50Bytes, ring(256, kNetworkLink)), 16 * kMiB);
}

}  // namespace
}  // namespace lb
