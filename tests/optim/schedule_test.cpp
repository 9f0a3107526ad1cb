// Learning-rate schedule: linear batch scaling, warm-up and each decay.
#include "runtime/optim/schedule.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "runtime/core/errors.hpp"
#include "runtime/core/spec.hpp"

namespace lb {
namespace {

LrSpec lr_spec(const std::string& decay, double warmup_epochs = 0, double min = 0) {
  LrSpec spec;
  spec.base = 0.1;
  spec.scale_with_batch = true;
  spec.warmup_epochs = warmup_epochs;
  spec.warmup_start = 0;
  spec.decay = parse_choice<LrDecay>(decay).value();
  spec.poly_power = 2.0;
  spec.min = min;
  return spec;
}

TEST(LrSchedule, LinearBatchScaling) {
  LrSpec spec = lr_spec("none");
  EXPECT_DOUBLE_EQ(LrSchedule(spec, 256, 10, 100).peak(), 0.1);
  EXPECT_DOUBLE_EQ(LrSchedule(spec, 1024, 10, 100).peak(), 0.4);
  EXPECT_DOUBLE_EQ(LrSchedule(spec, 64, 10, 100).peak(), 0.025);
  spec.scale_with_batch = false;
  EXPECT_DOUBLE_EQ(LrSchedule(spec, 1024, 10, 100).peak(), 0.1);
  EXPECT_DOUBLE_EQ(LrSchedule(spec, 1024, 10, 100).at(50), 0.1);
}

// 2 epochs of 5 steps: W = 10, lr(s) = peak * (s + 1) / 10, batch 512 -> peak 0.2.
TEST(LrSchedule, WarmupFromZero) {
  const LrSchedule s(lr_spec("none", 2.0), 512, 5, 100);
  EXPECT_DOUBLE_EQ(s.at(0), 0.02);
  EXPECT_DOUBLE_EQ(s.at(4), 0.1);
  EXPECT_DOUBLE_EQ(s.at(9), 0.2);
  EXPECT_DOUBLE_EQ(s.at(10), 0.2);
  EXPECT_DOUBLE_EQ(s.at(99), 0.2);
}

// warmup_start 0.1: lr(s) = peak * (0.1 + 0.9 * (s + 1) / 10).
TEST(LrSchedule, WarmupFromFraction) {
  LrSpec spec = lr_spec("none", 2.0);
  spec.warmup_start = 0.1;
  const LrSchedule s(spec, 256, 5, 100);
  EXPECT_DOUBLE_EQ(s.at(0), 0.1 * 0.19);
  EXPECT_DOUBLE_EQ(s.at(4), 0.1 * 0.55);
  EXPECT_DOUBLE_EQ(s.at(9), 0.1);
}

// 0.25 epochs of 10 steps = 2.5 steps, rounded to 3.
TEST(LrSchedule, WarmupStepsAreRounded) {
  const LrSchedule s(lr_spec("none", 0.25), 256, 10, 100);
  EXPECT_DOUBLE_EQ(s.at(0), 0.1 / 3);
  EXPECT_DOUBLE_EQ(s.at(1), 0.2 / 3);
  EXPECT_DOUBLE_EQ(s.at(2), 0.1);
}

// W = 10, T = 110, peak 0.1, min 0.001, power 2: lr = min + (peak - min)(1 - p)^2.
TEST(LrSchedule, Poly) {
  const LrSchedule s(lr_spec("poly", 1.0, 0.001), 256, 10, 110);
  EXPECT_DOUBLE_EQ(s.at(9), 0.1);
  EXPECT_DOUBLE_EQ(s.at(10), 0.1);                     // p = 0
  EXPECT_DOUBLE_EQ(s.at(60), 0.001 + 0.099 * 0.25);    // p = 1/2
  EXPECT_DOUBLE_EQ(s.at(85), 0.001 + 0.099 * 0.0625);  // p = 3/4
  EXPECT_DOUBLE_EQ(s.at(110), 0.001);                  // p = 1
  LrSpec linear = lr_spec("poly", 0.0);
  linear.poly_power = 1.0;
  EXPECT_DOUBLE_EQ(LrSchedule(linear, 256, 10, 100).at(30), 0.07);
}

TEST(LrSchedule, Cosine) {
  const LrSchedule s(lr_spec("cosine", 1.0, 0.001), 256, 10, 110);
  EXPECT_DOUBLE_EQ(s.at(10), 0.1);
  EXPECT_DOUBLE_EQ(s.at(35), 0.001 + 0.099 * 0.5 * (1 + std::cos(std::numbers::pi / 4)));
  EXPECT_NEAR(s.at(60), 0.001 + 0.099 * 0.5, 1e-15);
  EXPECT_NEAR(s.at(110), 0.001, 1e-15);
}

// Decay by 10x at epochs 3 and 6 (10 steps per epoch), after 1 epoch of warm-up.
TEST(LrSchedule, Step) {
  LrSpec spec = lr_spec("step", 1.0);
  spec.step_epochs = {3.0, 6.0};
  spec.step_gamma = 0.1;
  const LrSchedule s(spec, 256, 10, 100);
  EXPECT_DOUBLE_EQ(s.at(0), 0.01);  // warm-up
  EXPECT_DOUBLE_EQ(s.at(10), 0.1);
  EXPECT_DOUBLE_EQ(s.at(29), 0.1);
  EXPECT_DOUBLE_EQ(s.at(30), 0.1 * 0.1);
  EXPECT_DOUBLE_EQ(s.at(59), 0.1 * 0.1);
  EXPECT_DOUBLE_EQ(s.at(60), 0.1 * 0.1 * 0.1);
  EXPECT_DOUBLE_EQ(s.at(99), 0.1 * 0.1 * 0.1);
  // Floored at min.
  spec.min = 0.005;
  const LrSchedule floored(spec, 256, 10, 100);
  EXPECT_DOUBLE_EQ(floored.at(30), 0.01);
  EXPECT_DOUBLE_EQ(floored.at(60), 0.005);
}

TEST(LrSchedule, FractionalStepEpoch) {
  LrSpec spec = lr_spec("step");
  spec.step_epochs = {2.5};
  spec.step_gamma = 0.5;
  const LrSchedule s(spec, 256, 4, 40);
  EXPECT_DOUBLE_EQ(s.at(9), 0.1);    // epoch 2.25
  EXPECT_DOUBLE_EQ(s.at(10), 0.05);  // epoch 2.5
}

TEST(LrSchedule, StepsBeyondTotalClampToFinalValue) {
  for (const char* decay : {"poly", "cosine", "step", "none"}) {
    LrSpec spec = lr_spec(decay, 1.0, 0.002);
    spec.step_epochs = {5.0, 50.0};  // 50 lies past the end of the run
    const LrSchedule s(spec, 256, 10, 100);
    EXPECT_DOUBLE_EQ(s.at(101), s.at(100)) << decay;
    EXPECT_DOUBLE_EQ(s.at(100000), s.at(100)) << decay;
    EXPECT_DOUBLE_EQ(s.at(-5), s.at(0)) << decay;
  }
  EXPECT_NEAR(LrSchedule(lr_spec("poly", 1.0, 0.002), 256, 10, 100).at(500), 0.002, 1e-15);
  EXPECT_NEAR(LrSchedule(lr_spec("cosine", 1.0, 0.002), 256, 10, 100).at(500), 0.002, 1e-15);
  LrSpec step = lr_spec("step", 1.0, 0.0);
  step.step_epochs = {5.0, 50.0};
  step.step_gamma = 0.1;
  EXPECT_DOUBLE_EQ(LrSchedule(step, 256, 10, 100).at(500), 0.01);
}

// All steps are warm-up: no division by zero after it.
TEST(LrSchedule, TotalEqualsWarmup) {
  for (const char* decay : {"poly", "cosine"}) {
    const LrSchedule s(lr_spec(decay, 1.0, 0.001), 256, 10, 10);
    EXPECT_DOUBLE_EQ(s.at(9), 0.1) << decay;
    EXPECT_TRUE(std::isfinite(s.at(10))) << decay;
    EXPECT_NEAR(s.at(10), 0.001, 1e-15) << decay;
    EXPECT_NEAR(s.at(50), 0.001, 1e-15) << decay;
  }
}

TEST(LrSchedule, RejectsBadArguments) {
  // An unknown decay cannot reach LrSchedule: the spec parser rejects it.
  EXPECT_THROW(parse_spec({{"optimizer", {{"lr", {{"decay", "linear"}}}}}}), SpecError);
  EXPECT_THROW(LrSchedule(lr_spec("poly"), 256, 0, 100), std::invalid_argument);
}

}  // namespace
}  // namespace lb
