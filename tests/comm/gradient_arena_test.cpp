// The gradient arena: one buffer, gradients as views in backward order.
#include "runtime/comm/gradient_arena.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace lb {
namespace {

TEST(GradientArena, MakesEveryGradientAnAlignedViewKeepingItsValues) {
  Tensor a({3}, 1.0f), b({2, 5}, 2.0f), c({1, 16, 1, 1}, 3.0f);
  c.reshape({1, 16, 1, 1}, Layout::nChw16c);
  GradientArena arena({&a, &b, &c});
  for (const Tensor* t : {&a, &b, &c}) {
    EXPECT_TRUE(t->is_view());
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t->data()) % 64, 0u);
  }
  EXPECT_EQ(b.shape(), (Shape{2, 5}));
  EXPECT_EQ(c.layout(), Layout::nChw16c);
  EXPECT_EQ(b[9], 2.0f);
  EXPECT_EQ(c[15], 3.0f);
  ASSERT_EQ(arena.grads().size(), 3u);
  EXPECT_EQ(arena.grads()[1].data(), b.data());
  EXPECT_EQ(arena.grads()[1].size(), 10u);
}

TEST(GradientArena, ASliceRunsFromTheFirstGradientToTheEndOfTheLast) {
  Tensor a({3}, 1.0f), b({20}, 2.0f), c({5}, 3.0f);
  GradientArena arena({&a, &b, &c});
  const std::span<float> all = arena.slice(0, 2);
  EXPECT_EQ(all.data(), a.data());
  EXPECT_EQ(all.data() + all.size(), c.data() + c.numel());
  // The padding after `a` (13 values to the next 64-byte boundary) reads as zero.
  EXPECT_EQ(all.size(), 16u + 32u + 5u);
  EXPECT_EQ(all[3], 0.0f);
  EXPECT_EQ(all[15], 0.0f);
  EXPECT_EQ(arena.slice(1, 1).data(), b.data());
  EXPECT_EQ(arena.slice(1, 1).size(), 20u);
  EXPECT_THROW(arena.slice(2, 1), std::out_of_range);
  EXPECT_THROW(arena.slice(0, 3), std::out_of_range);
}

}  // namespace
}  // namespace lb
