#include "runtime/train/step_profile.hpp"

#include <gtest/gtest.h>

#include "runtime/nn/relu.hpp"

namespace lb {
namespace {

std::vector<LayerInfo> table() {
  return {{"conv1", "conv2d", {2, 4, 8, 8}, 36, 1e6},
          {"relu1", "relu", {2, 4, 8, 8}, 0, 512},
          {"fc", "linear", {2, 10}, 2570, 5e3}};
}

TEST(Samples, MedianOfOddAndEvenCounts) {
  Samples s;
  EXPECT_EQ(s.median(), 0.0);
  for (double v : {5.0, 1.0, 3.0}) s.add(v);
  EXPECT_EQ(s.median(), 3.0);
  s.add(10.0);
  EXPECT_EQ(s.median(), 4.0);
}

TEST(Samples, KeepsOnlyTheFirstCapacityValues) {
  Samples s;
  for (std::size_t i = 0; i < Samples::kCapacity + 50; ++i)
    s.add(i < Samples::kCapacity ? 1.0 : 99.0);
  EXPECT_EQ(s.size(), Samples::kCapacity);
  EXPECT_EQ(s.median(), 1.0);
}

TEST(StepProfile, SkipsTheWarmUpStepAndSumsPartsOfAStep) {
  StepProfile p(table());
  p.begin_step();  // warm-up: ignored
  EXPECT_FALSE(p.recording());
  p.add_forward(0, 100.0);
  p.add_phase(Phase::step, 100.0);
  p.end_step();
  for (double t : {1.0, 2.0, 3.0}) {
    p.begin_step();
    EXPECT_TRUE(p.recording());
    p.add_forward(0, t);
    p.add_forward(0, t);  // a second part of the same row in the same step
    p.add_backward(2, 10 * t);
    p.gradient_ready(2);
    p.gradient_ready(1);  // no parameters: not part of the order
    p.gradient_ready(0);
    p.add_phase(Phase::step, t);
    p.add_allreduce("ring", 4096, t, t / 4);
    p.add_allreduce("mpi", 64, 0.5);
    p.end_step();
  }
  Profile run;
  run.model = "m";
  run.ranks = 4;
  const auto doc = to_json(p.summary(run));
  EXPECT_EQ(doc["format"], "largebatch-profile");
  EXPECT_EQ(doc["model"], "m");
  EXPECT_EQ(doc["steps"], 3);
  ASSERT_EQ(doc["layers"].size(), 3u);
  EXPECT_EQ(doc["layers"][0]["name"], "conv1");
  EXPECT_DOUBLE_EQ(doc["layers"][0]["forward_s"].get<double>(), 4.0);
  EXPECT_DOUBLE_EQ(doc["layers"][2]["backward_s"].get<double>(), 20.0);
  EXPECT_EQ(doc["layers"][2]["params"], 2570);
  EXPECT_EQ(doc["gradient_order"], (nlohmann::json{"fc", "conv1"}));
  EXPECT_DOUBLE_EQ(doc["step_s"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(doc["optimizer_s"].get<double>(), 0.0);  // never reported
  ASSERT_EQ(doc["allreduce"].size(), 2u);
  for (const auto& a : doc["allreduce"]) {
    EXPECT_EQ(a["ranks"], 4);
    EXPECT_EQ(a["count"], 3);
    EXPECT_DOUBLE_EQ(a["median_s"].get<double>(), a["algorithm"] == "ring" ? 2.0 : 0.5);
    EXPECT_DOUBLE_EQ(a["median_cpu_s"].get<double>(), a["algorithm"] == "ring" ? 0.5 : 0.0);
  }
}

// Forward + backward per step 4, 5, 6, 7, 8 s and one stalled step of 100 s:
// quartiles 5.25 and 7.75 (interpolated), median 6.5, so the robust cv is
// 2.5 / 1.349 / 6.5; the stall does not decide it (std / mean would be 1.9).
TEST(StepProfile, ComputeCvIsARobustRelativeSpreadOfForwardPlusBackward) {
  StepProfile p(table());
  p.begin_step();  // warm-up
  p.end_step();
  for (double t : {1.0, 1.5, 2.0, 49.0, 2.5, 3.0}) {
    p.begin_step();
    p.add_phase(Phase::forward, t);
    p.add_phase(Phase::backward, 2 + t);
    p.end_step();
  }
  EXPECT_NEAR(p.summary({}).compute_cv, 2.5 / 1.349 / 6.5, 1e-12);
  StepProfile empty(table());
  EXPECT_EQ(empty.summary({}).compute_cv, 0.0);
}

TEST(StepProfile, RowsByLayerName) {
  StepProfile p(table());
  ReLU relu("relu1");
  ReLU other("nowhere");
  EXPECT_EQ(p.row_of(relu), 1);
  EXPECT_EQ(p.row_of(other), -1);
}

}  // namespace
}  // namespace lb
