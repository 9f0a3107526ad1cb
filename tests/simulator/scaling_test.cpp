// The step plan the sweep simulates: compute at the per-GPU batch, stretched
// when CPU ranks outnumber their node's cores.
#include "simulator/scaling.hpp"

#include <gtest/gtest.h>

#include "runtime/core/errors.hpp"
#include "runtime/core/fusion_rule.hpp"
#include "simulator/calibration.hpp"

namespace lb::sim {
namespace {

Scenario one_layer(int cores_per_node, int threads) {
  Scenario s;
  s.spec.train.global_batch = 64;
  s.spec.train.threads = threads;
  s.compute.layers = {{"conv", "conv", 0, {0, 0.001}, {0, 0.002}}};  // 1 ms, 2 ms per image
  s.compute.optimizer_s = 0.01;
  s.cluster.gpus_per_node = 4;
  s.cluster.cores_per_node = cores_per_node;
  return s;
}

// comm.fusion_bytes "auto" resolves with lb-train's rule (core/fusion_rule.hpp)
// on the simulated cluster's ring; an explicit size is kept.
TEST(FusionBytes, AutoFollowsTheRuleOnTheClustersRing) {
  Scenario s = one_layer(0, 1);
  s.model.gradients = {{"conv", 25'557'032}};  // resnet50's 102 MB
  s.cluster.gpus_per_node = 8;
  s.cluster.intra = {150e9, 2e-6};
  s.cluster.nic = {12.5e9, 5e-6};
  s.spec.comm.algorithm = Algorithm::hierarchical;
  // 2,048 GPUs: a ring of 256 leaders at 10 µs a step over 12.5 GB/s; the
  // latency bound is far above the overlap bound, 102 MB / 6 -> 16 MiB.
  EXPECT_EQ(fusion_bytes(s, 2048), 16 * kMiB);
  // One node: 8 ranks over the node's links, 8 · 4 µs · 150 GB/s / 0.1 = 48 MB -> 16 MiB
  // (the overlap bound again); a slower node link gives smaller buckets.
  EXPECT_EQ(fusion_bytes(s, 8), 16 * kMiB);
  s.cluster.intra = {5e9, 1e-6};
  EXPECT_EQ(fusion_bytes(s, 8), 1 * kMiB);  // 8 · 2 µs · 5 GB/s / 0.1 = 0.8 MB -> the 1 MiB floor
  s.spec.comm.fusion_bytes = 0;
  EXPECT_EQ(fusion_bytes(s, 2048), 0);
}

TEST(StepPlan, GpusNeverShareAProcessor) {
  const StepPlan p = step_plan(one_layer(0, 1), 4, 64);
  EXPECT_DOUBLE_EQ(p.forward_s[0], 0.016);  // 16 images per GPU
  EXPECT_DOUBLE_EQ(p.backward_s[0], 0.032);
  EXPECT_DOUBLE_EQ(p.optimizer_s, 0.01);
}

TEST(StepPlan, CpuRanksWithinTheCoresRunAtFullSpeed) {
  const StepPlan p = step_plan(one_layer(2, 1), 2, 64);  // 2 ranks x 1 thread on 2 cores
  EXPECT_DOUBLE_EQ(p.forward_s[0], 0.032);
  EXPECT_DOUBLE_EQ(p.optimizer_s, 0.01);
}

TEST(StepPlan, CpuRanksBeyondTheCoresTakeTurns) {
  const StepPlan p = step_plan(one_layer(2, 1), 4, 64);  // 4 threads on 2 cores: half speed
  EXPECT_DOUBLE_EQ(p.forward_s[0], 2 * 0.016);
  EXPECT_DOUBLE_EQ(p.backward_s[0], 2 * 0.032);
  EXPECT_DOUBLE_EQ(p.optimizer_s, 2 * 0.01);
  // Threads count too: 2 ranks x 2 threads on 2 cores.
  EXPECT_DOUBLE_EQ(step_plan(one_layer(2, 2), 2, 64).forward_s[0], 2 * 0.032);
  // Ranks on other nodes do not: 8 GPUs are 2 nodes of 4.
  EXPECT_DOUBLE_EQ(step_plan(one_layer(2, 1), 8, 64).forward_s[0], 2 * 0.008);
}

// On a CPU node with a calibrated communication CPU cost, each bucket's
// all-reduce does that work on the rank's share of the cores (cores / ranks
// on the node): twice the host work when 4 ranks share 2 cores as when 2 do,
// at most one core's rate; compute weighs its threads. The disturbance of
// compute beyond the CPU time is paid only where each rank has a core (the
// 4 ranks on 2 cores take turns anyway). GPUs do none.
TEST(StepPlan, AllreducesOnCpuNodesDoTheirCpuWorkOnTheRanksShare) {
  Scenario s = one_layer(2, 1);
  s.model.gradients = {{"conv", 250'000}};  // 1 MB of fp32 gradients
  s.spec.comm.algorithm = Algorithm::ring;
  s.spec.comm.fusion_bytes = 64 * kMiB;
  s.cluster.intra = {5e9, 10e-6};
  s.cluster.comm_cpu = {40e-6, 0.2e-9, 100e-6};  // + 100 us of compute its wakes disturb
  for (int ranks : {2, 4}) {
    const StepPlan p = step_plan(s, ranks, 64);
    ASSERT_EQ(p.buckets.size(), 1u);
    const double load = alpha_beta_features(Algorithm::ring, 1'000'000, ranks, ranks, 4).second;
    const double share = 2.0 / ranks;  // cores per rank
    const double disturbance = ranks == 2 ? 100e-6 : 0;
    EXPECT_NEAR(p.buckets[0].cpu_work, (40e-6 + load * 0.2e-9 + disturbance) / share, 1e-12)
        << ranks;
    EXPECT_DOUBLE_EQ(p.buckets[0].cpu_rate, std::min(1.0, share) / share) << ranks;
    EXPECT_DOUBLE_EQ(p.compute_weight, 1);
  }
  s.spec.train.threads = 2;
  EXPECT_DOUBLE_EQ(step_plan(s, 2, 64).compute_weight, 2);
  s.cluster.cores_per_node = 0;  // GPUs
  EXPECT_DOUBLE_EQ(step_plan(s, 2, 64).buckets[0].cpu_work, 0);
}

// The plan holds host work; alone on its host, compute takes work / compute_rate.
double seconds_alone(const StepPlan& p, double work) { return work / p.compute_rate; }

TEST(StepPlan, CoRunningCpuRanksPayTheMeasuredFactor) {
  Scenario s = one_layer(2, 1);
  s.compute.co_run_factor = 1.15;
  const StepPlan one = step_plan(s, 1, 64), two = step_plan(s, 2, 64), four = step_plan(s, 4, 64);
  EXPECT_DOUBLE_EQ(seconds_alone(one, one.forward_s[0]), 0.064);  // alone: as profiled
  EXPECT_DOUBLE_EQ(seconds_alone(two, two.forward_s[0]), 1.15 * 0.032);
  EXPECT_DOUBLE_EQ(seconds_alone(two, two.optimizer_s), 1.15 * 0.01);
  EXPECT_DOUBLE_EQ(seconds_alone(four, four.forward_s[0]),
                   2 * 1.15 * 0.016);  // turns and co-running
  Scenario gpu = one_layer(0, 1);
  gpu.compute.co_run_factor = 1.15;  // not a CPU node: never applied
  EXPECT_DOUBLE_EQ(step_plan(gpu, 4, 64).forward_s[0], 0.016);
}

}  // namespace
}  // namespace lb::sim

namespace lb::sim {
namespace {

// A global batch the GPU count does not divide is refused, as lb-train
// refuses it (one rule: runtime/core/batch_arithmetic.hpp).
TEST(StepPlan, AGlobalBatchTheGpusDoNotDivideIsRefused) {
  Scenario s = one_layer(0, 1);
  try {
    step_plan(s, 3, 64);
    FAIL() << "64 images on 3 GPUs accepted";
  } catch (const SpecError& e) {
    EXPECT_EQ(e.path(), "train.global_batch");
  }
}

// The input pipeline: the slower of the per-GPU rate and the GPU's share of
// its node's rate.
TEST(StepPlan, TheInputPipelineIsPerGpuAndPerNode) {
  Scenario s = one_layer(0, 1);                     // 4 GPUs per node
  EXPECT_DOUBLE_EQ(step_plan(s, 4, 64).data_s, 0);  // not modelled
  s.cluster.node_input_images_per_s = 400;          // 100 per GPU on a full node
  EXPECT_DOUBLE_EQ(step_plan(s, 4, 64).data_s, 16.0 / 100);
  EXPECT_DOUBLE_EQ(step_plan(s, 2, 64).data_s, 32.0 / 200);  // 2 GPUs share the node's rate
  s.cluster.input_images_per_s = 50;
  EXPECT_DOUBLE_EQ(step_plan(s, 4, 64).data_s, 16.0 / 50);
}

// Stragglers: the slowest of N GPUs whose compute varies by cv.
TEST(StepPlan, StragglersGrowWithTheExpectedMaximumOfNDraws) {
  Scenario s = one_layer(0, 1);
  s.compute_cv = 0.02;
  EXPECT_DOUBLE_EQ(step_plan(s, 1, 64).straggle, 0);
  EXPECT_NEAR(step_plan(s, 4, 64).straggle, 0.02 * 1.029375, 1e-6);
  EXPECT_GT(step_plan(s, 64, 64).straggle, step_plan(s, 8, 64).straggle);
}

// The lead the calibration measured each all-reduce to keep applies to CPU
// ranks whose compute fills their cores; elsewhere it is never cut.
TEST(StepPlan, TheMeasuredLeadKeptAppliesWhereTheRanksComputeFillsTheirCores) {
  const auto kept = [](int cores, int threads, int gpus) {
    Scenario s = one_layer(cores, threads);
    s.compute.lead_kept_at_allreduce = 0.9;
    return step_plan(s, gpus, 64).lead_kept_at_allreduce;
  };
  EXPECT_DOUBLE_EQ(kept(2, 1, 2), 0.9);  // a core each
  EXPECT_DOUBLE_EQ(kept(4, 2, 2), 0.9);  // two cores each, two threads
  EXPECT_DOUBLE_EQ(kept(4, 1, 2), 1);    // a core to spare for the communication thread
  EXPECT_DOUBLE_EQ(kept(2, 1, 4), 1);    // time-sliced
  EXPECT_DOUBLE_EQ(kept(0, 1, 4), 1);    // GPUs
}

// On a CPU node whose ranks outnumber its cores, the spread measured where
// they did applies at any such load (ComputeModel::compute_cv_at); a spread
// from the spec applies everywhere.
TEST(StepPlan, TimeSlicedRanksStraggleWithTheSpreadMeasuredAtTheirLoad) {
  Scenario s = one_layer(2, 1);  // 2 cores, 4 ranks per node, 1 thread each
  s.compute.compute_cv = s.compute_cv = 0.02;
  s.compute.shared_cores_cv = 0.12, s.compute.shared_cores_load = 2;
  s.compute_cv_measured = true;
  EXPECT_NEAR(step_plan(s, 2, 64).straggle, 0.02 * expected_max_normal(2), 1e-12);  // a core each
  EXPECT_NEAR(step_plan(s, 3, 63).straggle, 0.12 * expected_max_normal(3), 1e-12);  // 1.5 per core
  EXPECT_NEAR(step_plan(s, 4, 64).straggle, 0.12 * expected_max_normal(4), 1e-12);
  s.compute_cv_measured = false;  // cluster.compute_cv: one spread for every load
  EXPECT_NEAR(step_plan(s, 4, 64).straggle, 0.02 * expected_max_normal(4), 1e-12);
}

// Where the calibration measured how long time-sliced ranks wait, that time
// is their wait at the all-reduce whatever their compute (a fraction of it
// in StepPlan::straggle), at any load above one thread per core.
TEST(StepPlan, TimeSlicedRanksWaitTheMeasuredTime) {
  Scenario s = one_layer(2, 1);  // 2 cores, 4 ranks per node, 1 thread each
  s.compute.compute_cv = s.compute_cv = 0.02;
  s.compute.shared_cores_cv = 0.12, s.compute.shared_cores_load = 2;
  s.compute.shared_cores_wait_s = 0.013;
  s.compute_cv_measured = true;
  const auto compute_s = [](const StepPlan& p) {
    return (p.forward_s[0] + p.backward_s[0]) / p.compute_rate;
  };
  for (std::int64_t batch : {64, 256}) {  // four times the compute, the same wait
    const StepPlan four = step_plan(s, 4, batch);
    EXPECT_NEAR(four.straggle * compute_s(four), 0.013, 1e-12) << batch;
  }
  const StepPlan three = step_plan(s, 3, 63);  // 1.5 threads per core: time-sliced too
  EXPECT_NEAR(three.straggle * compute_s(three), 0.013, 1e-12);
  EXPECT_NEAR(step_plan(s, 2, 64).straggle, 0.02 * expected_max_normal(2), 1e-12);  // a core each
}

}  // namespace
}  // namespace lb::sim
