#include <gtest/gtest.h>

#include "runtime/comm/gradient_sync.hpp"

namespace lb {
namespace {

std::vector<std::vector<std::size_t>> members(const std::vector<Bucket>& buckets) {
  std::vector<std::vector<std::size_t>> out;
  for (const auto& b : buckets) out.push_back(b.tensors);
  return out;
}

TEST(BucketPlan, ZeroFusionGivesOneTensorPerBucket) {
  const std::vector<std::size_t> sizes{10, 20, 30};
  EXPECT_EQ(members(plan_buckets(sizes, 0)),
            (std::vector<std::vector<std::size_t>>{{0}, {1}, {2}}));
}

TEST(BucketPlan, PacksInBackwardOrderUpToTheLimit) {
  // 4-byte floats: limit 100 bytes = 25 elements.
  const std::vector<std::size_t> sizes{10, 10, 10, 30, 5, 5};
  const auto buckets = plan_buckets(sizes, 100);
  EXPECT_EQ(members(buckets), (std::vector<std::vector<std::size_t>>{{0, 1}, {2}, {3}, {4, 5}}));
  EXPECT_EQ(buckets[0].elements, 20u);
  EXPECT_EQ(buckets[2].elements, 30u);  // larger than the limit: alone
}

TEST(BucketPlan, HugeLimitGivesOneBucket) {
  const std::vector<std::size_t> sizes{1, 2, 3, 4};
  EXPECT_EQ(plan_buckets(sizes, 1 << 30).size(), 1u);
  EXPECT_TRUE(plan_buckets({}, 1 << 30).empty());
}

}  // namespace
}  // namespace lb
