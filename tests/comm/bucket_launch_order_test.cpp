#include "runtime/comm/bucket_launch_order.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>
#include <vector>

namespace lb {
namespace {

// Buckets {0, 1}, {2}, {3, 4}: five tensors.
std::vector<Bucket> three_buckets() { return {{{0, 1}, 2}, {{2}, 1}, {{3, 4}, 2}}; }

struct Launches {
  std::vector<std::size_t> buckets;
  void operator()(std::size_t b) { buckets.push_back(b); }
};

TEST(BucketLaunchOrder, ABucketLaunchesWhenItsLastTensorIsReady) {
  BucketLaunchOrder order(three_buckets(), 5);
  Launches launched;
  order.ready(0, std::ref(launched));
  EXPECT_TRUE(launched.buckets.empty());
  order.ready(1, std::ref(launched));
  EXPECT_EQ(launched.buckets, (std::vector<std::size_t>{0}));
}

TEST(BucketLaunchOrder, ALaterBucketWaitsForEveryEarlierOne) {
  BucketLaunchOrder order(three_buckets(), 5);
  Launches launched;
  for (std::size_t t : {4, 3, 2})
    order.ready(t, std::ref(launched));  // buckets 2 and 1 complete first
  EXPECT_TRUE(launched.buckets.empty());
  order.ready(0, std::ref(launched));
  order.ready(1, std::ref(launched));  // bucket 0 completes: all three go, in order
  EXPECT_EQ(launched.buckets, (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_NO_THROW(order.require_all_launched());
}

TEST(BucketLaunchOrder, AMissingTensorIsNamedByItsBucket) {
  BucketLaunchOrder order(three_buckets(), 5);
  Launches launched;
  for (std::size_t t : {0, 1, 3, 4}) order.ready(t, std::ref(launched));
  EXPECT_EQ(launched.buckets, (std::vector<std::size_t>{0}));
  try {
    order.require_all_launched();
    FAIL() << "expected std::logic_error";
  } catch (const std::logic_error& e) {
    EXPECT_STREQ(e.what(), "gradient bucket 1 never became ready");
  }
}

TEST(BucketLaunchOrder, BeginStepStartsOver) {
  BucketLaunchOrder order(three_buckets(), 5);
  Launches first, second;
  for (std::size_t t = 0; t < 5; ++t) order.ready(t, std::ref(first));
  order.begin_step();
  EXPECT_THROW(order.require_all_launched(), std::logic_error);
  for (std::size_t t = 5; t-- > 0;) order.ready(t, std::ref(second));
  EXPECT_EQ(first.buckets, (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(second.buckets, (std::vector<std::size_t>{0, 1, 2}));
}

TEST(BucketLaunchOrder, AnUnknownTensorIsRefused) {
  BucketLaunchOrder order(three_buckets(), 5);
  Launches launched;
  EXPECT_THROW(order.ready(5, std::ref(launched)), std::out_of_range);
}

}  // namespace
}  // namespace lb
