// The per-rank batch and step arithmetic lb-train and simulate-scaling share
// (runtime/core/batch_arithmetic.hpp).
#include "runtime/core/batch_arithmetic.hpp"

#include <gtest/gtest.h>

#include "runtime/core/errors.hpp"

namespace lb {
namespace {

TEST(BatchArithmetic, PerRankBatchNeedsADivisor) {
  EXPECT_EQ(per_rank_batch(65536, 2048), 32);
  try {
    per_rank_batch(65536, 3);
    FAIL() << "a fractional per-rank batch was accepted";
  } catch (const SpecError& e) {
    EXPECT_EQ(e.path(), "train.global_batch");
  }
}

TEST(BatchArithmetic, StepsDropTheLastPartialBatchAndRound) {
  EXPECT_EQ(steps_per_epoch(1281167, 65536), 19);
  EXPECT_EQ(steps_per_epoch(100, 256), 0);
  EXPECT_EQ(epochs_to_steps(90, 19), 1710);
  EXPECT_EQ(epochs_to_steps(0.5, 3), 2);   // 1.5 rounds to 2
  EXPECT_EQ(epochs_to_steps(0.01, 3), 1);  // at least one step
  EXPECT_THROW(epochs_to_steps(1e308, 19), SpecError);
}

}  // namespace
}  // namespace lb
