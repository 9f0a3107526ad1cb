// The network half of the simulator: collectives on SimGrid platforms against
// their alpha-beta closed forms, and the fast step-once formulation against
// the message-level reference on uncontended and contended platforms.
#include <gtest/gtest.h>

#include <cmath>

#include "runtime/core/errors.hpp"
#include "simulator/collectives.hpp"
#include "simulator/fresh_engine.hpp"
#include "simulator/network_sim.hpp"

namespace lb::sim {
namespace {

ClusterModel cluster(int gpus_per_node) {
  ClusterModel c;
  c.gpus_per_node = gpus_per_node;
  c.intra = {20e9, 2e-6};  // 20 GB/s, 2 us
  c.nic = {12.5e9, 5e-6};  // 100 Gbps, 5 us
  return c;
}

CollectiveConfig config(int ranks, int group) {
  CollectiveConfig c;
  c.ranks = ranks;
  c.group_size = group;
  c.ranks_per_node = group;
  return c;
}

// Simulated seconds of one all-reduce, in a fresh engine.
double simulate(const ClusterModel& c, const CollectiveConfig& cfg, Algorithm algo,
                std::uint64_t bytes, bool message_level) {
  return simulate_collective(c, cfg, algo, bytes, message_level);
}

void expect_within(double actual, double expected, double tolerance) {
  EXPECT_NEAR(actual / expected, 1.0, tolerance)
      << "actual " << actual << " s, expected " << expected << " s";
}

TEST(Network, RingMatchesClosedFormOnUncontendedSwitch) {
  const ClusterModel c = cluster(1);  // one GPU per node: every hop crosses the switch
  const double alpha = c.intra.latency_s + c.nic.latency_s, bw = c.nic.bandwidth_Bps;
  for (int p : {2, 16, 256}) {
    const double S = 64 << 20;
    const double closed = 2 * (p - 1) * alpha + 2.0 * (p - 1) / p * S / bw;
    expect_within(simulate(c, config(p, 1), Algorithm::ring, std::uint64_t(S), false), closed,
                  0.01);
  }
}

TEST(Network, HierarchicalMatchesClosedForm) {
  const ClusterModel c = cluster(8);
  const int m = 8, g = 4, p = m * g;
  const double S = 16 << 20;
  const double ai = c.intra.latency_s, bi = c.intra.bandwidth_Bps;
  const double an = c.intra.latency_s + c.nic.latency_s, bn = c.nic.bandwidth_Bps;
  const double closed =
      (m - 1) * (ai + S / m / bi)           // reduce-scatter in the node
      + ai + (m - 1) * (S / m) / bi         // gather: m-1 flows into the leader
      + 2 * (g - 1) * (an + S / g / bn)     // ring of leaders
      + (512 + m - 2) * (ai + 32768 / bi);  // chain broadcast: 512 segments of 32 KiB
  expect_within(simulate(c, config(p, m), Algorithm::hierarchical, std::uint64_t(S), false), closed,
                0.01);
}

TEST(Network, Torus2dMatchesClosedForm) {
  const ClusterModel c = cluster(8);
  const int m = 8, g = 4, p = m * g;
  const double S = 16 << 20, row = S / m;
  const double ai = c.intra.latency_s, bi = c.intra.bandwidth_Bps;
  const double an = c.intra.latency_s + c.nic.latency_s;
  const double column_bw = std::min(bi, c.nic.bandwidth_Bps / m);  // 8 column rings share the NIC
  const double closed = 2 * (m - 1) * (ai + row / bi) + 2 * (g - 1) * (an + row / g / column_bw);
  expect_within(simulate(c, config(p, m), Algorithm::torus2d, std::uint64_t(S), false), closed,
                0.01);
}

// The fast flow model against one actor per rank sending every message.
void expect_fast_matches_message_level(const ClusterModel& c, const CollectiveConfig& cfg,
                                       Algorithm algo, std::uint64_t bytes) {
  const double fast = simulate(c, cfg, algo, bytes, false);
  const double reference = simulate(c, cfg, algo, bytes, true);
  expect_within(fast, reference, 0.01);
}

TEST(Network, FlowModelMatchesMessageLevelUncontended) {
  const ClusterModel c = cluster(1);
  expect_fast_matches_message_level(c, config(32, 1), Algorithm::ring, 10'000'000);
  expect_fast_matches_message_level(c, config(32, 1), Algorithm::ring, 4'000);
  expect_fast_matches_message_level(c, config(24, 1), Algorithm::mpi, 8'000);
  expect_fast_matches_message_level(c, config(24, 1), Algorithm::halving_doubling, 10'000'000);
}

TEST(Network, FlowModelMatchesMessageLevelContended) {
  ClusterModel c = cluster(4);  // 4 GPUs share a NIC
  c.fabric = Fabric::fat_tree;
  c.nodes_per_leaf = 2;
  c.oversubscription = 4;
  expect_fast_matches_message_level(c, config(32, 4), Algorithm::torus2d, 10'000'000);
  expect_fast_matches_message_level(c, config(32, 4), Algorithm::hierarchical, 10'000'000);
  expect_fast_matches_message_level(c, config(32, 4), Algorithm::ring, 10'000'000);
  expect_fast_matches_message_level(c, config(32, 4), Algorithm::halving_doubling, 10'000'000);
}

TEST(Network, AutoResolvesLikeTheRuntime) {
  const CollectiveConfig cfg = config(16, 8);
  EXPECT_EQ(resolve(Algorithm::automatic, 1000, cfg), Algorithm::mpi);
  EXPECT_EQ(resolve(Algorithm::automatic, 1 << 20, cfg), Algorithm::hierarchical);
  EXPECT_EQ(resolve(Algorithm::automatic, 1 << 20, config(8, 8)), Algorithm::ring);
}

TEST(Network, Torus2dRefusesAGroupThatDoesNotDivide) {
  EXPECT_THROW(plan_collective(Algorithm::torus2d, 1 << 20, config(12, 8)), SpecError);
}

}  // namespace
}  // namespace lb::sim

namespace lb::sim {
namespace {

// A ring of 8 nodes (1-D torus), one GPU each; 1 us per torus hop.
ClusterModel torus8() {
  ClusterModel c = cluster(1);
  c.fabric = Fabric::torus;
  c.torus_dims = {8};
  c.uplink_latency_s = 1e-6;
  return c;
}

TEST(Network, RingOnATorusIsOneHopPerStep) {
  const ClusterModel c = torus8();
  const double alpha = c.intra.latency_s + c.nic.latency_s + c.uplink_latency_s, S = 8 << 20;
  const double closed = 2 * 7 * alpha + 2.0 * 7 / 8 * S / c.nic.bandwidth_Bps;
  expect_within(simulate(c, config(8, 1), Algorithm::ring, std::uint64_t(S), false), closed, 0.01);
}

// 4 x 4 torus: ring neighbours that change row move one hop in each
// dimension, so the lock-step ring pays two hops of latency per step.
TEST(Network, RingOnA2dTorusPaysTwoHopsAtRowChanges) {
  ClusterModel c = torus8();
  c.torus_dims = {4, 4};
  const double alpha = c.intra.latency_s + c.nic.latency_s + 2 * c.uplink_latency_s, S = 8 << 20;
  const double closed = 2 * 15 * alpha + 2.0 * 15 / 16 * S / c.nic.bandwidth_Bps;
  expect_within(simulate(c, config(16, 1), Algorithm::ring, std::uint64_t(S), false), closed, 0.01);
}

// Recursive doubling at distance 1, 2, 4 crosses 1, 2, 4 hops, and the
// busiest torus link carries 1, 2, 4 flows (distance 4 ties all go +).
TEST(Network, TorusRoutesAreDimensionOrderedShortestPaths) {
  const ClusterModel c = torus8();
  const double S = 32'000, base = c.intra.latency_s + c.nic.latency_s;
  double closed = 0;
  for (int d : {1, 2, 4}) closed += base + d * c.uplink_latency_s + S * d / c.nic.bandwidth_Bps;
  expect_within(simulate(c, config(8, 1), Algorithm::mpi, std::uint64_t(S), false), closed, 0.01);
  expect_fast_matches_message_level(c, config(8, 1), Algorithm::mpi, std::uint64_t(S));
}

}  // namespace
}  // namespace lb::sim
