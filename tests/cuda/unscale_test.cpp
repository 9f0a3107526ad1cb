// Fused unscale + inf/NaN check against a plain loop over the shared
// formulas (bitwise: one multiplication per element).
#include "runtime/backends/cuda/unscale.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "runtime/core/elementwise_math.hpp"
#include "tests/cuda/gpu_test.hpp"

namespace lb::cuda {
namespace {

class Unscale : public test::GpuTest {
 protected:
  // Unscales `grads` (one device tensor each) by 1/1024; returns found_inf.
  int run(const std::vector<std::vector<float>>& grads, std::vector<std::vector<float>>& out) {
    std::vector<DeviceBuffer<float>> in, result;
    std::vector<std::span<const float>> in_spans;
    std::vector<std::span<float>> out_spans;
    for (const auto& g : grads) {
      in.push_back(upload(g));
      result.emplace_back(allocator(), g.size());
    }
    for (std::size_t i = 0; i < grads.size(); ++i) {
      in_spans.push_back(in[i].span());
      out_spans.push_back(result[i].span());
    }
    DeviceBuffer<int> found(allocator(), 1);
    unscale_and_check(in_spans, out_spans, 1.0f / 1024, found.span(), stream());
    out.clear();
    for (const auto& r : result) out.push_back(download(r));
    return download(found)[0];
  }
};

std::vector<std::vector<float>> gradients(std::size_t tensors) {
  std::vector<std::vector<float>> g;
  for (std::size_t t = 0; t < tensors; ++t) {
    g.push_back(test::normal_values(1 + t * 997 % 20000, 200 + std::uint32_t(t), 1000.0f));
  }
  return g;
}

TEST_F(Unscale, FiniteGradientsAreScaledExactlyAndNotFlagged) {
  const auto grads = gradients(600);  // more than one launch holds
  std::vector<std::vector<float>> out;
  EXPECT_EQ(run(grads, out), 0);
  for (std::size_t t = 0; t < grads.size(); ++t) {
    std::vector<float> expected(grads[t].size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
      expected[i] = math::unscale(grads[t][i], 1.0f / 1024);
    }
    EXPECT_EQ(out[t], expected) << "tensor " << t;
  }
}

TEST_F(Unscale, OneInfOrNanAnywhereIsFlagged) {
  for (float bad : {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                    std::nanf("")}) {
    auto grads = gradients(520);
    grads[515][grads[515].size() - 1] = bad;  // in the second launch, last element
    std::vector<std::vector<float>> out;
    EXPECT_EQ(run(grads, out), 1) << bad;
  }
}

TEST_F(Unscale, HalfGradientsAreWidenedThenScaled) {
  const std::vector<float> values = test::normal_values(30000, 5, 2000.0f);
  std::vector<half_bits> half(values.size());
  lb::to_half(values, half);
  DeviceBuffer<half_bits> in = upload(half);
  DeviceBuffer<float> out(allocator(), half.size());
  DeviceBuffer<int> found(allocator(), 1);
  const std::span<const half_bits> in_spans[] = {in.span()};
  const std::span<float> out_spans[] = {out.span()};
  unscale_and_check(in_spans, out_spans, 0.25f, found.span(), stream());
  std::vector<float> expected(half.size());
  for (std::size_t i = 0; i < half.size(); ++i) expected[i] = half_to_float(half[i]) * 0.25f;
  EXPECT_EQ(download(out), expected);
  EXPECT_EQ(download(found)[0], 0);
}

}  // namespace
}  // namespace lb::cuda
