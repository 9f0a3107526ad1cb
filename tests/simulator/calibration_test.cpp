// Calibration: the alpha-beta features agree with the simulated platform,
// and a fit recovers the latency and bandwidth that generated its data.
#include "simulator/calibration.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "simulator/network_sim.hpp"

namespace lb::sim {
namespace {

constexpr double kAlpha = 10e-6, kBandwidth = 5e9;

double simulated_on_one_node(Algorithm c, std::uint64_t bytes, int ranks) {
  ClusterModel cluster;
  cluster.gpus_per_node = ranks;
  cluster.intra = {kBandwidth, kAlpha};
  CollectiveConfig config;
  config.ranks = config.group_size = config.ranks_per_node = ranks;
  return simulate_collective(cluster, config, c, bytes, /*message_level=*/false);
}

TEST(Calibration, FeaturesPredictTheSimulatedTime) {
  for (Algorithm c : {Algorithm::ring, Algorithm::hierarchical, Algorithm::torus2d}) {
    for (int ranks : {2, 3, 4}) {
      const std::uint64_t bytes = 1 << 22;
      const auto [steps, load] = alpha_beta_features(c, bytes, ranks, ranks, 4);
      EXPECT_NEAR(steps * kAlpha + load / kBandwidth, simulated_on_one_node(c, bytes, ranks),
                  1e-9 + 1e-3 * load / kBandwidth)
          << to_string(c) << " on " << ranks;
    }
  }
}

TEST(Calibration, FitRecoversLatencyAndBandwidthFromBenchRows) {
  const auto file = std::filesystem::temp_directory_path() / "lb_calibration_bench.jsonl";
  {
    std::ofstream out(file);
    for (const char* algorithm : {"ring", "hierarchical", "torus2d"}) {
      for (int ranks : {2, 4}) {
        for (std::int64_t bytes = 4096; bytes <= (16 << 20); bytes *= 4) {
          const auto [steps, load] =
              alpha_beta_features(parse_algorithm(algorithm), bytes, ranks, ranks, 4);
          const double t = steps * kAlpha + load / kBandwidth;
          out << nlohmann::json{{"algorithm", algorithm},
                                {"ranks", ranks},
                                {"bytes", bytes},
                                {"time_us", t * 1e6},
                                {"wrong", 0}}
              << "\n";
        }
      }
    }
    out << nlohmann::json{{"model", "resnet20"}, {"per_tensor_s", 1.0}, {"fused_s", 0.5}} << "\n";
  }
  const Calibration cal = calibrate(read_calibration_inputs({file}));
  ASSERT_TRUE(cal.intra.has_value());
  EXPECT_NEAR(cal.intra->link.latency_s / kAlpha, 1.0, 1e-6);
  EXPECT_NEAR(cal.intra->link.bandwidth_Bps / kBandwidth, 1.0, 1e-6);
  EXPECT_LT(cal.intra->max_abs_error, 1e-6);
  EXPECT_EQ(cal.intra->rows, 3 * 2 * 7);  // algorithms x rank counts x sizes
  std::filesystem::remove(file);
}

// allreduce-bench's rows (messages alone) give the link; all-reduces measured
// inside training (profile rows, slower: they waited for other ranks) give
// the communication thread's CPU time per call and per byte, and are only
// reported for the link.
TEST(Calibration, BenchRowsGiveTheLinkTrainingRowsTheCommunicationCpuTime) {
  constexpr double kTrainingAlpha = 150e-6, kCpuPerCall = 40e-6, kCpuPerByte = 0.2e-9;
  CalibrationInputs in;
  for (std::int64_t bytes = 40; bytes <= (4 << 20); bytes *= 3) {
    const auto [steps, load] = alpha_beta_features(Algorithm::ring, std::uint64_t(bytes), 2, 2, 4);
    in.samples.push_back({"profile.json", "ring", 2, bytes,
                          steps * kTrainingAlpha + load / kBandwidth, false, true,
                          kCpuPerCall + load * kCpuPerByte});
    // The same size alone (a benchmark spinning on idle cores): far faster.
    in.samples.push_back({"bench.jsonl", "ring", 2, bytes, steps * kAlpha + load / kBandwidth});
  }
  const Calibration cal = calibrate(in);
  ASSERT_TRUE(cal.intra.has_value());
  EXPECT_NEAR(cal.intra->link.latency_s / kAlpha, 1.0, 1e-6);
  EXPECT_NEAR(cal.intra->link.bandwidth_Bps / kBandwidth, 1.0, 1e-6);
  EXPECT_EQ(cal.intra->rows, int(in.samples.size() / 2));
  ASSERT_TRUE(cal.comm_cpu.has_value());
  EXPECT_NEAR(cal.comm_cpu->cost.per_call_s / kCpuPerCall, 1.0, 1e-6);
  EXPECT_NEAR(cal.comm_cpu->cost.per_byte_s / kCpuPerByte, 1.0, 1e-6);
  // Both survive the calibration file.
  const auto file = std::filesystem::temp_directory_path() / "lb_calibration_cpu.json";
  std::ofstream(file) << to_json(cal).dump();
  const Calibration read = load_calibration(file);
  ASSERT_TRUE(read.comm_cpu.has_value());
  EXPECT_NEAR(read.comm_cpu->cost.per_call_s / kCpuPerCall, 1.0, 1e-9);
  EXPECT_NEAR(read.comm_cpu->cost.per_byte_s / kCpuPerByte, 1.0, 1e-9);
  std::filesystem::remove(file);
}

// A profile with many all-reduces a step whose backward exceeds the compute
// model, scaled by that run's own forward, and its thread's CPU time gives
// the per-call disturbance, also when the machine ran that profile slower
// than the single-rank ones (drift, co-running); bucketed, single-rank,
// time-sliced and unbound profiles do not; it round-trips.
TEST(Calibration, ManyAllreducesAStepGiveTheComputeTheyDisturbPerCall) {
  constexpr double kDisturbance = 100e-6, kCpu = 50e-6, kCalls = 40, kSlower = 1.25;
  const auto profile = [](int batch, int ranks, double calls, double extra, double speed = 1) {
    RuntimeProfile p;
    p.file = "p" + std::to_string(batch) + "-" + std::to_string(ranks);
    p.model = "resnet20", p.per_rank_batch = batch, p.ranks = ranks, p.steps = 10, p.threads = 1;
    p.ranks_per_node = ranks, p.node_cores = 2;
    p.layers = {{"conv", "conv2d", 100, 0, 1e-4 * batch, 2e-4 * batch}};
    p.forward_s = speed * 1e-4 * batch, p.backward_s = speed * 2e-4 * batch + extra;
    if (calls > 0) p.allreduce = {{"ring", 4096, ranks, 3e-4, std::int64_t(calls * 10), kCpu}};
    return p;
  };
  CalibrationInputs in;
  in.profiles = {profile(16, 1, 0, 0),
                 profile(64, 1, 0, 0),
                 profile(32, 2, kCalls, kCalls * (kCpu + kDisturbance), kSlower),  // per tensor
                 profile(48, 2, 1, 0.02),        // bucketed: noise, not fitted
                 profile(24, 4, kCalls, 0.05),   // time-sliced: not fitted
                 profile(40, 2, kCalls, 0.03)};  // unbound: not fitted
  in.profiles[2].cpus_allowed = 1;               // bound to a core
  in.profiles[5].cpus_allowed = 2;               // every core
  for (const auto& p : in.profiles) {
    for (const auto& a : p.allreduce) {
      in.samples.push_back({p.file, a.algorithm, a.ranks, a.bytes, a.median_s, false, true,
                            a.median_cpu_s * (1 + 1e-3 * double(p.per_rank_batch))});
    }
  }
  in.samples.push_back({"x", "ring", 2, 1 << 20, 1e-3, false, true, 60e-6});
  const Calibration cal = calibrate(in);
  ASSERT_TRUE(cal.comm_cpu.has_value());
  EXPECT_NEAR(cal.comm_cpu->cost.disturbance_s, kDisturbance, 1e-9);
  EXPECT_EQ(cal.comm_cpu->disturbance_profiles, 1);
  const auto file = std::filesystem::temp_directory_path() / "lb_calibration_disturbance.json";
  std::ofstream(file) << to_json(cal).dump();
  EXPECT_NEAR(load_calibration(file).comm_cpu->cost.disturbance_s, kDisturbance, 1e-12);
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace lb::sim
