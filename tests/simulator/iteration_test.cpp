// One simulated step: overlap of fusion buckets with backward, the exposed
// communication, the optimizer and the input pipeline, on a timeline small
// enough to check by hand.
#include "simulator/iteration.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace lb::sim
