// One simulated step: overlap of fusion buckets with backward, the exposed
// communication, the optimizer and the input pipeline, on a timeline small
// enough to check by hand.
#include "simulator/iteration.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "simulator/fresh_engine.hpp"

namespace lb::sim {
namespace {

// 2 GPUs on 2 nodes behind one switch: a ring all-reduce of S bytes takes
// 2(alpha + S/2 / B) = 1 s with alpha = 0 and S = B.
ClusterModel two_nodes() {
  ClusterModel c;
  c.gpus_per_node = 1;
  c.intra = {1e12, 0};
  c.nic = {1e6, 0};  // 1 MB/s
  return c;
}

StepPlan two_layer_plan(bool overlap) {
  StepPlan p;
  p.layers = {"a", "b"};
  p.forward_s = {1, 1};
  p.backward_s = {1, 1};
  p.bucket_bytes = {1'000'000, 1'000'000};  // 1 s each
  p.bucket_ready_after = {1, 0};            // b's gradient first, then a's
  p.overlap = overlap;
  p.algorithm = Collective::ring;
  p.collective = {2, 1, 4};
  p.optimizer_s = 0.5;
  return p;
}

StepResult run(const StepPlan& plan, int gpus) {
  const auto j = in_fresh_engine([&] {
    const StepResult r = simulate_step(plan, two_nodes(), gpus);
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
  const StepResult r = run(two_layer_plan(true), 2);
  EXPECT_NEAR(r.comm_s, 2.0, 1e-6);
  EXPECT_NEAR(r.exposed_comm_s, 1.0, 1e-6);
  EXPECT_NEAR(r.iteration_s, 5.5, 1e-6);
}

TEST(Step, WithoutOverlapAllBucketsWaitForBackward) {
  const StepResult r = run(two_layer_plan(false), 2);
  EXPECT_NEAR(r.exposed_comm_s, 2.0, 1e-6);
  EXPECT_NEAR(r.iteration_s, 6.5, 1e-6);
}

TEST(Step, OneGpuHasNoCommunication) {
  const StepResult r = run(two_layer_plan(true), 1);
  EXPECT_DOUBLE_EQ(r.comm_s, 0);
  EXPECT_NEAR(r.iteration_s, 4.5, 1e-9);
}

TEST(Step, ASlowInputPipelineSetsThePace) {
  StepPlan p = two_layer_plan(true);
  p.data_s = 8;
  const StepResult r = run(p, 2);
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
  const StepResult r = run(p, 2);
  EXPECT_NEAR(r.exposed_comm_s, 1.0 + 2.0, 1e-6);  // waits 1 s for the straggler, then 2 s
  EXPECT_NEAR(r.iteration_s, 7.5, 1e-6);
  // With overlap, bucket 0 (ready at 3 s) starts at 3.75 s, bucket 1 (ready
  // at 4 s) at max(5, 4.75) = 5 s: done at 6 s.
  p.overlap = true;
  const StepResult o = run(p, 2);
  EXPECT_NEAR(o.exposed_comm_s, 2.0, 1e-6);
  EXPECT_NEAR(o.iteration_s, 6.5, 1e-6);
  EXPECT_NEAR(run(p, 1).iteration_s, 4.5, 1e-9);  // one rank waits for nobody
}

}  // namespace
}  // namespace lb::sim
