// Tensors that view storage owned elsewhere (the gradient arena's).
#include <gtest/gtest.h>

#include <vector>

#include "runtime/tensor/tensor.hpp"

namespace lb {
namespace {

TEST(TensorView, ReadsAndWritesTheStorageItViews) {
  std::vector<float> storage(6, 1.0f);
  Tensor t = Tensor::view_of(storage, {2, 3});
  EXPECT_TRUE(t.is_view());
  EXPECT_EQ(t.data(), storage.data());
  EXPECT_EQ(t.numel(), 6);
  t[4] = 7.0f;
  EXPECT_EQ(storage[4], 7.0f);
  t.fill(2.0f);
  EXPECT_EQ(storage, std::vector<float>(6, 2.0f));
}

TEST(TensorView, RefusesStorageOfTheWrongSize) {
  std::vector<float> storage(5);
  EXPECT_THROW(Tensor::view_of(storage, {2, 3}), std::invalid_argument);
}

TEST(TensorView, ReshapesWithinItsStorageOnly) {
  std::vector<float> storage(16);
  Tensor t = Tensor::view_of(storage, {16});
  t.reshape({1, 16, 1, 1}, Layout::nChw16c);
  EXPECT_EQ(t.data(), storage.data());
  EXPECT_EQ(t.layout(), Layout::nChw16c);
  t.reshape({2, 4});
  EXPECT_EQ(t.numel(), 8);
  EXPECT_EQ(t.capacity(), 16);
  EXPECT_THROW(t.reshape({17}), std::invalid_argument);
  EXPECT_EQ(t.data(), storage.data());
}

TEST(TensorView, ACopyOwnsItsValuesAndAMoveKeepsTheView) {
  std::vector<float> storage{1, 2, 3};
  Tensor view = Tensor::view_of(storage, {3});
  Tensor copy = view;
  EXPECT_FALSE(copy.is_view());
  EXPECT_NE(copy.data(), storage.data());
  copy[0] = 9;
  EXPECT_EQ(storage[0], 1.0f);

  Tensor moved = std::move(view);
  EXPECT_TRUE(moved.is_view());
  EXPECT_EQ(moved.data(), storage.data());
  EXPECT_TRUE(view.empty());  // NOLINT(bugprone-use-after-move): the moved-from state is specified
}

TEST(Tensor, AMoveKeepsTheOwnedBufferWhereItIs) {
  Tensor a({1000}, 3.0f);
  const float* where = a.data();
  Tensor b = std::move(a);
  EXPECT_EQ(b.data(), where);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move)
  Tensor c;
  c = std::move(b);
  EXPECT_EQ(c.data(), where);
  EXPECT_EQ(c[999], 3.0f);
  c.reshape({2000});
  EXPECT_EQ(c.numel(), 2000);
  EXPECT_EQ(c[999], 3.0f);
}

}  // namespace
}  // namespace lb
