// The algorithms the runtime does not run (recursive halving/doubling,
// NCCL's ring and double binary tree, NCCL's choice), the cluster shapes
// beyond one NIC per node, and the flow model at scale: each against its
// alpha-beta closed form or the SimGrid message-level reference.
#include "simulator/collectives.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cmath>

#include "simulator/flow_model.hpp"
#include "simulator/network_sim.hpp"
#include "simulator/topology.hpp"

namespace lb::sim {
namespace {

// One GPU per node, one switch: every hop crosses intra (2 us) and the NIC (5 us).
ClusterModel one_gpu_nodes() {
  ClusterModel c;
  c.gpus_per_node = 1;
  c.intra = {20e9, 2e-6};
  c.nic = {12.5e9, 5e-6};
  return c;
}

CollectiveConfig pcie_config(int ranks, int per_node) {
  CollectiveConfig c;
  c.ranks = ranks;
  c.group_size = per_node;
  c.ranks_per_node = per_node;
  c.nccl = {20e9, 12.5e9, false};
  return c;
}

void expect_within(double actual, double expected, double tolerance) {
  EXPECT_NEAR(actual / expected, 1.0, tolerance)
      << "actual " << actual << " s, expected " << expected << " s";
}

double fast(const ClusterModel& c, const CollectiveConfig& cfg, Algorithm a, std::uint64_t bytes) {
  return simulate_collective(c, cfg, a, bytes, false);
}

// 2 log2(p) alpha + 2 (p-1)/p S/B for a power of two.
TEST(Collectives, HalvingDoublingMatchesClosedForm) {
  const ClusterModel c = one_gpu_nodes();
  const double alpha = c.intra.latency_s + c.nic.latency_s, S = 64 << 20;
  for (int p : {2, 16, 256}) {
    const double closed = 2 * std::log2(p) * alpha + 2.0 * (p - 1) / p * S / c.nic.bandwidth_Bps;
    expect_within(fast(c, pcie_config(p, 1), Algorithm::halving_doubling, std::uint64_t(S)), closed,
                  0.01);
  }
}

// Pipelined: NCCL Simple's base latency 8.4 us, 2(p-1) hops of at least its
// 9.6 us network hop, x1.9 (the ring's plateau on large multi-node
// buffers), plus 2(p-1)/p S over the NIC.
TEST(Collectives, NcclRingMatchesClosedForm) {
  const ClusterModel c = one_gpu_nodes();
  const double S = 64 << 20;
  for (int p : {4, 16, 256}) {
    const double closed =
        1.9 * (8.4e-6 + 2 * (p - 1) * 9.6e-6) + 2.0 * (p - 1) / p * S / c.nic.bandwidth_Bps;
    expect_within(fast(c, pcie_config(p, 1), Algorithm::nccl_ring, std::uint64_t(S)), closed, 0.01);
  }
}

// Two nodes: each tree's one edge carries half the buffer up and down, so
// each NIC carries two flows of S/2 (S/B), at NCCL's tree efficiency (0.9,
// and its medium-size correction 0.8 at 64 MiB); latency: the one network
// hop up and down at NCCL's 50 us.
TEST(Collectives, NcclTreeMatchesClosedForm) {
  const ClusterModel c = one_gpu_nodes();
  const double S = 64 << 20;
  const double closed = 2 * 50e-6 + S / c.nic.bandwidth_Bps / (0.9 * 0.8);
  expect_within(fast(c, pcie_config(2, 1), Algorithm::nccl_tree, std::uint64_t(S)), closed, 0.01);
}

// NCCL picks the tree where latency dominates (small buffers, many nodes)
// and the ring where bandwidth does (large buffers, few nodes).
TEST(Collectives, NcclChoosesByScaleAndSize) {
  CollectiveConfig many = pcie_config(2048, 8);
  many.nccl = {150e9, 12.5e9, true};
  EXPECT_EQ(resolve(Algorithm::nccl, 64 << 10, many), Algorithm::nccl_tree);
  CollectiveConfig two = pcie_config(16, 8);
  two.nccl = many.nccl;
  EXPECT_EQ(resolve(Algorithm::nccl, 256 << 20, two), Algorithm::nccl_ring);
  EXPECT_EQ(nccl_choice(Algorithm::nccl_ring, 1024, two).protocol, NcclProtocol::ll);
  EXPECT_EQ(nccl_choice(Algorithm::nccl_ring, 256 << 20, two).protocol, NcclProtocol::simple);
  EXPECT_NE(nccl_choice(Algorithm::nccl, 1 << 20, pcie_config(16, 8)).protocol,
            NcclProtocol::ll128);  // LL128 needs NVLink
}

// comm.auto_calibration's rules decide `auto` when they apply.
TEST(Collectives, AutoFollowsCalibrationRules) {
  CollectiveConfig c = pcie_config(16, 8);
  EXPECT_EQ(resolve(Algorithm::automatic, 1 << 20, c), Algorithm::hierarchical);
  c.auto_rules = {{1 << 22, Algorithm::torus2d}, {-1, Algorithm::ring}};
  EXPECT_EQ(resolve(Algorithm::automatic, 1 << 20, c), Algorithm::torus2d);
  EXPECT_EQ(resolve(Algorithm::automatic, 1 << 24, c), Algorithm::ring);
}

ClusterModel eight_gpu_nodes(int nics, Fabric fabric) {
  ClusterModel c;
  c.gpus_per_node = 8;
  c.nics_per_node = nics;
  c.nic_direct = nics == 8;
  c.intra = {150e9, 1e-6};
  c.nic = {12.5e9, 5e-6};
  c.fabric = fabric;
  c.nodes_per_leaf = 2;
  c.uplink_latency_s = 3e-6;
  return c;
}

// GPU i of node 0 sends S to GPU i of node 1, all 8 at once: one shared NIC
// takes 8 S / B, one NIC per GPU S / B.
TEST(Clusters, SeveralNicsPerNodeCarryTrafficInParallel) {
  std::vector<Flow> flows;
  const double S = 1e8;
  for (int i = 0; i < 8; ++i) flows.push_back({i, 8 + i, std::uint64_t(S)});
  const Topology one(eight_gpu_nodes(1, Fabric::single_switch), 16);
  const Topology eight(eight_gpu_nodes(8, Fabric::single_switch), 16);
  expect_within(lockstep_step_s(one, flows), 8 * S / 12.5e9, 0.01);
  expect_within(lockstep_step_s(eight, flows), S / 12.5e9, 0.01);
  const Topology four(eight_gpu_nodes(4, Fabric::single_switch), 16);  // 2 GPUs per NIC
  expect_within(lockstep_step_s(four, flows), 2 * S / 12.5e9, 0.01);
}

// Rail-optimised: NIC k of every node in a group shares leaf k, so same-rail
// traffic stays in the leaf and cross-rail traffic crosses the core.
TEST(Clusters, RailOptimisedFatTreeKeepsSameRailTrafficInTheLeaf) {
  const Topology rail(eight_gpu_nodes(8, Fabric::rail_fat_tree), 16);
  const Topology tree(eight_gpu_nodes(8, Fabric::fat_tree), 16);
  const double same_rail = rail.latency(0, 8), cross_rail = rail.latency(0, 9);
  EXPECT_NEAR(same_rail, 5e-6, 1e-12);               // NIC to NIC through the rail's leaf
  EXPECT_NEAR(cross_rail - same_rail, 3e-6, 1e-12);  // and up through the core
  EXPECT_NEAR(tree.latency(0, 9), 5e-6, 1e-12);      // one leaf holds the two nodes
}

// The flow model against SimGrid on several NICs per node and a rail fabric.
TEST(Clusters, FlowModelMatchesMessageLevelWithRails) {
  ClusterModel c = eight_gpu_nodes(4, Fabric::rail_fat_tree);
  c.nodes_per_leaf = 1;  // every node its own group: inter-node traffic crosses the core
  c.oversubscription = 2;
  for (Algorithm a : {Algorithm::ring, Algorithm::hierarchical, Algorithm::torus2d}) {
    CollectiveConfig cfg = pcie_config(32, 8);
    const double f = simulate_collective(c, cfg, a, 10'000'000, false);
    const double m = simulate_collective(c, cfg, a, 10'000'000, true);
    expect_within(f, m, 0.01);
  }
}

// A cheap scale check for CI: 16,384 GPUs hold O(GPUs) links (no per-pair
// table), and a hierarchical all-reduce on them matches its closed form.
TEST(Scale, SixteenThousandGpusUseLinearMemory) {
  ClusterModel c = eight_gpu_nodes(1, Fabric::single_switch);
  c.intra = {20e9, 2e-6};
  const int p = 16384, m = 8, g = p / m;
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  const Topology topology(c, p);
  EXPECT_LE(topology.link_count(), 3 * p);
  const double S = 16 << 20;
  const auto phases = plan_collective(Algorithm::hierarchical, std::uint64_t(S), pcie_config(p, m));
  const double t = collective_s(topology, phases);
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 256 * 1024);  // KiB: well under 256 MiB
  const double ai = c.intra.latency_s, bi = c.intra.bandwidth_Bps;
  const double an = c.intra.latency_s + c.nic.latency_s, bn = c.nic.bandwidth_Bps;
  const double closed = (m - 1) * (ai + S / m / bi) + ai + (m - 1) * (S / m) / bi +
                        2 * (g - 1) * (an + S / g / bn) + (512 + m - 2) * (ai + 32768 / bi);
  expect_within(t, closed, 0.01);
}

}  // namespace
}  // namespace lb::sim
