// One simulated step: overlap of fusion buckets with backward, the exposed
// communication, the optimizer and the input pipeline, on a timeline small
// enough to check by hand.
#include "simulator/iteration.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "simulator/fresh_engine.hpp"

namespace lb::sim {
namespace {

// Two layers of 1 s forward and 1 s backward, two buckets whose all-reduce
// takes 1 s each, an optimizer of 0.5 s.
StepPlan two_layer_plan(bool overlap) {
  StepPlan p;
  p.layers = {"a", "b"};
  p.forward_s = {1, 1};
  p.backward_s = {1, 1};
  p.buckets = {{1'000'000, 1.0, "ring", 0}, {1'000'000, 1.0, "ring", 0}};
  p.bucket_ready_after = {1, 0};  // b's gradient first, then a's
  p.overlap = overlap;
  p.optimizer_s = 0.5;
  return p;
}

StepPlan one_gpu(StepPlan p) {
  p.buckets.clear();
  p.bucket_ready_after.clear();
  return p;
}

StepResult run(const StepPlan& plan) {
  const auto j = in_fresh_engine([&] {
    const StepResult r = simulate_step(plan);
    return nlohmann::json{r.iteration_s, r.exposed_comm_s, r.comm_s, r.data_wait_s,
                          r.events.size()};
  });
  StepResult r;
  r.iteration_s = j[0], r.exposed_comm_s = j[1], r.comm_s = j[2], r.data_wait_s = j[3];
  return r;
}

TEST(Step, OverlappedBucketsHideBehindBackward) {
  // forward 0-2; b's backward 2-3, bucket 0 all-reduced 3-4; a's backward
  // 3-4, bucket 1 4-5; optimizer 5-5.5.
  const StepResult r = run(two_layer_plan(true));
  EXPECT_NEAR(r.comm_s, 2.0, 1e-6);
  EXPECT_NEAR(r.exposed_comm_s, 1.0, 1e-6);
  EXPECT_NEAR(r.iteration_s, 5.5, 1e-6);
}

TEST(Step, WithoutOverlapAllBucketsWaitForBackward) {
  const StepResult r = run(two_layer_plan(false));
  EXPECT_NEAR(r.exposed_comm_s, 2.0, 1e-6);
  EXPECT_NEAR(r.iteration_s, 6.5, 1e-6);
}

TEST(Step, OneGpuHasNoCommunication) {
  const StepResult r = run(one_gpu(two_layer_plan(true)));
  EXPECT_DOUBLE_EQ(r.comm_s, 0);
  EXPECT_NEAR(r.iteration_s, 4.5, 1e-9);
}

TEST(Step, ASlowInputPipelineSetsThePace) {
  StepPlan p = two_layer_plan(true);
  p.data_s = 8;
  const StepResult r = run(p);
  EXPECT_NEAR(r.data_wait_s, 2.5, 1e-6);
  EXPECT_NEAR(r.iteration_s, 8, 1e-6);
}

TEST(Step, ExpectedMaximumOfNormals) {
  EXPECT_DOUBLE_EQ(expected_max_normal(1), 0);
  EXPECT_NEAR(expected_max_normal(2), 1 / std::sqrt(M_PI), 1e-6);
  EXPECT_NEAR(expected_max_normal(3), 1.5 / std::sqrt(M_PI), 1e-6);
  EXPECT_NEAR(expected_max_normal(4), 1.029375, 1e-5);
  EXPECT_NEAR(expected_max_normal(1000), 3.241436, 1e-4);
}

// Straggle 0.25: the typical rank runs forward 0-2 s and backward 2-4 s; the
// slowest reaches the same points 1.25 times later, so without overlap both
// buckets start at 4 * 1.25 = 5 s and end at 7 s (two 1 s all-reduces).
TEST(Step, TheSlowestRankDelaysTheAllreduce) {
  StepPlan p = two_layer_plan(false);
  p.straggle = 0.25;
  const StepResult r = run(p);
  EXPECT_NEAR(r.exposed_comm_s, 1.0 + 2.0, 1e-6);  // waits 1 s for the straggler, then 2 s
  EXPECT_NEAR(r.iteration_s, 7.5, 1e-6);
  // With overlap, bucket 0 (ready at 3 s) starts at 3.75 s, bucket 1 (ready
  // at 4 s) at max(5, 4.75) = 5 s: done at 6 s.
  p.overlap = true;
  const StepResult o = run(p);
  EXPECT_NEAR(o.exposed_comm_s, 2.0, 1e-6);
  EXPECT_NEAR(o.iteration_s, 6.5, 1e-6);
  p.straggle = 0;  // one rank waits for nobody: straggle is 0 (expected_max_normal(1))
  EXPECT_NEAR(run(one_gpu(p)).iteration_s, 4.5, 1e-9);
}

// All-reduces of 0.1 s, straggle 0.25, overlap: bucket 0 (ready at 3 s)
// waits for the slowest rank's lead 0.75 s and runs 3.75-3.85 s. By bucket 1
// (ready at 4 s) the lead has grown by 0.25 s from what it kept: all of it
// (lead 1.0: 5.0-5.1 s), half (0.625: 4.625-4.725 s) or none (0.25:
// 4.25-4.35 s), the faster ranks having given the rest up while they polled.
TEST(Step, TheSlowestRanksLeadShrinksAtEveryAllreduceByWhatItDidNotKeep) {
  StepPlan p = two_layer_plan(true);
  for (auto& b : p.buckets) b.seconds = 0.1;
  p.straggle = 0.25;
  const auto exposed = [&](double kept) {
    p.lead_kept_at_allreduce = kept;
    return run(p).exposed_comm_s;
  };
  EXPECT_NEAR(exposed(1), 1.1, 1e-6);
  EXPECT_NEAR(exposed(0.5), 0.725, 1e-6);
  EXPECT_NEAR(exposed(0), 0.35, 1e-6);
  p.buckets.pop_back(), p.bucket_ready_after = {0};  // one bucket: nothing to keep from
  EXPECT_NEAR(exposed(0.5), exposed(1), 1e-9);
}

// An all-reduce that takes half the device while it runs: bucket 0 (3-4 s)
// overlaps a's backward, which does 0.5 s of its work by 4 s and the rest by
// 4.5 s; bucket 1 then runs 4.5-5.5 s alone, the optimizer 5.5-6 s: the
// interference costs 0.5 s, half the overlapped second.
TEST(Step, CommunicationBesideComputeSlowsItByItsShare) {
  StepPlan p = two_layer_plan(true);
  for (auto& b : p.buckets) b.interference = 0.5;
  const StepResult r = run(p);
  EXPECT_NEAR(r.iteration_s, 6.0, 1e-6);
  EXPECT_NEAR(r.exposed_comm_s, 1.0, 1e-6);
  p.overlap = false;  // nothing overlaps: nothing is slowed
  EXPECT_NEAR(run(p).iteration_s, 6.5, 1e-6);
}

// A CPU node: bucket 0's all-reduce does 0.5 s of work on the cores from
// 3 s, beside a's backward, while its transfer takes 0.25 s. Compute's 1
// thread and the communication thread share the host equally: the
// all-reduce's work is done at 4 s (1 s of wall), a's backward does 0.5 s of
// its work by then and the rest by 4.5 s. Bucket 1 runs 4.5-5 s alone (its
// work at full rate), the optimizer 5-5.5 s.
TEST(Step, AnAllreducesCpuWorkSharesTheCoresWithCompute) {
  StepPlan p = two_layer_plan(true);
  for (auto& b : p.buckets) b.seconds = 0.25, b.cpu_work = 0.5;
  StepResult r = run(p);
  EXPECT_NEAR(r.iteration_s, 5.5, 1e-6);
  EXPECT_NEAR(r.comm_s, 1.5, 1e-6);
  EXPECT_NEAR(r.exposed_comm_s, 0.5, 1e-6);
  // Three compute threads against one: the all-reduce gets a quarter of the
  // host, a's backward three quarters, done at 3 + 4/3 s; by then the
  // all-reduce did 1/3 of its work, the rest alone by 4.5 s. Bucket 1 then
  // runs 4.5-5 s, the optimizer 5-5.5 s: the same step (the host never
  // idles), with communication longer and more of it exposed.
  p.compute_weight = 3;
  r = run(p);
  EXPECT_NEAR(r.iteration_s, 5.5, 1e-6);
  EXPECT_NEAR(r.comm_s, 2.0, 1e-6);
  EXPECT_NEAR(r.exposed_comm_s, 5.0 - (3 + 4.0 / 3), 1e-6);
  // Compute bounded below the host (a rank with more cores than threads):
  // both run at full rate beside each other, nothing is slowed.
  p = two_layer_plan(true);
  for (auto& b : p.buckets) b.seconds = 0.25, b.cpu_work = 0.25, b.cpu_rate = 0.5;
  for (double& w : p.forward_s) w = 0.5;
  for (double& w : p.backward_s) w = 0.5;
  p.optimizer_s = 0.25;
  p.compute_rate = 0.5;  // 1 s per layer, as above
  r = run(p);
  EXPECT_NEAR(r.iteration_s, 5.0, 1e-6);  // bucket 1 (0.5 s) after backward, then the optimizer
  EXPECT_NEAR(r.comm_s, 1.0, 1e-6);
}

// cluster.step_overhead_s: fixed host time before forward.
TEST(Step, TheHostOverheadAddsItsTime) {
  StepPlan p = two_layer_plan(true);
  p.host_overhead_s = 0.25;
  EXPECT_NEAR(run(p).iteration_s, 5.75, 1e-6);
}

}  // namespace
}  // namespace lb::sim
