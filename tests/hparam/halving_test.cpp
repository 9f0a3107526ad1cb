// The successive-halving policy alone (hparam/halving.hpp): segments, the
// synchronous cut at a rung and the asynchronous verdict, without a trial.
#include "hparam/halving.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

namespace lb::hparam {
namespace {

TEST(HalvingPolicy, SynchronousSegmentsAreTheRungsThenTheBudget) {
  const HalvingPolicy policy({3, 1, true}, Goal::maximize, "test_accuracy");
  EXPECT_TRUE(policy.synchronous());
  EXPECT_EQ(policy.eval_every_epochs(), 1);
  EXPECT_EQ(policy.rungs(10), (std::vector<double>{1, 3, 9}));
  EXPECT_EQ(policy.segment_targets(10), (std::vector<double>{1, 3, 9, 10}));
  EXPECT_EQ(policy.segment_targets(1), (std::vector<double>{1}));  // no rung below the budget
}

TEST(HalvingPolicy, CutAtARungKeepsTheBestFloorNOverEta) {
  const HalvingPolicy policy({3, 1, true}, Goal::maximize, "test_accuracy");
  std::vector<RungValue> values;
  for (int i = 1; i <= 7; ++i) values.push_back({i, 0.1 * i});  // trial 7 is best
  values.push_back({8, std::nan("")});
  const auto cuts = policy.cuts_at_rung(values, 1);
  ASSERT_EQ(cuts.size(), 6u);  // 8 reached the rung, floor(8 / 3) = 2 go on
  std::set<std::int64_t> cut;
  for (const auto& c : cuts) cut.insert(c.trial_id);
  EXPECT_FALSE(cut.count(7));
  EXPECT_FALSE(cut.count(6));
  EXPECT_TRUE(cut.count(8));  // NaN is worst
  EXPECT_EQ(cuts.front().reason,
            "pruned at epoch 1: test_accuracy 0.5000 ranked 3 of 8, the best 2 go on");
  // Minimising keeps the smallest; one trial alone always goes on.
  const HalvingPolicy loss({3, 1, true}, Goal::minimize, "test_loss");
  EXPECT_EQ(loss.cuts_at_rung(values, 1).front().trial_id, 3);
  EXPECT_TRUE(policy.cuts_at_rung({{1, 0.2}}, 1).empty());
}

TEST(HalvingPolicy, AsynchronousStopsATrialOutsideTheTopFraction) {
  const HalvingPolicy policy({2, 1, false}, Goal::maximize, "test_accuracy");
  EXPECT_FALSE(policy.synchronous());
  EXPECT_FALSE(policy.async_stop(1, 0.5, {0.5}));  // first to arrive
  EXPECT_FALSE(policy.async_stop(1, 0.9, {0.5, 0.9}));
  const auto stop = policy.async_stop(1.25, 0.4, {0.5, 0.9, 0.4});
  ASSERT_TRUE(stop);
  EXPECT_EQ(*stop,
            "pruned at epoch 1.25: test_accuracy 0.4000 not in the top 1/2 of 3 at this rung");
}

}  // namespace
}  // namespace lb::hparam
