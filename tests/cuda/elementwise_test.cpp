// Element-wise kernels against the CPU: casts bitwise against lb::to_half /
// from_half; fp32 add and ReLU bitwise against plain loops over the shared
// formulas; fp16 versions bitwise against fp32 arithmetic rounded to half.
#include "runtime/backends/cuda/elementwise.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "runtime/core/elementwise_math.hpp"
#include "runtime/core/half.hpp"
#include "tests/cuda/gpu_test.hpp"

namespace lb::cuda {
namespace {

using Elementwise = test::GpuTest;

// Values that exercise rounding: normals, subnormals of half, overflow, ties, specials.
std::vector<float> awkward_values() {
  std::vector<float> v = test::normal_values(100003, 11, 100.0f);
  const float inf = std::numeric_limits<float>::infinity();
  for (float x :
       {0.0f, -0.0f, 65504.0f, 65520.0f, 70000.0f, -1e9f, 1e-8f, 3e-5f, -6e-8f, kHalfMinSubnormal,
        kHalfMinNormal, 1.0009765625f /* 1 + 2^-10 */, 1.00048828125f /* a tie */, inf, -inf}) {
    v.push_back(x);
  }
  return v;
}

std::vector<half_bits> host_to_half(const std::vector<float>& v) {
  std::vector<half_bits> h(v.size());
  lb::to_half(v, h);
  return h;
}

TEST_F(Elementwise, CastsMatchTheCpuBitForBit) {
  const std::vector<float> values = awkward_values();
  DeviceBuffer<float> in = upload(values);
  DeviceBuffer<half_bits> half(allocator(), values.size());
  DeviceBuffer<float> back(allocator(), values.size());
  to_half(std::span<const float>(in.span()), half.span(), stream());
  from_half(std::span<const half_bits>(half.span()), back.span(), stream());
  const std::vector<half_bits> expected = host_to_half(values);
  std::vector<float> expected_back(values.size());
  lb::from_half(expected, expected_back);
  EXPECT_EQ(download(half), expected);
  EXPECT_EQ(download(back), expected_back);
}

TEST_F(Elementwise, NanStaysNanThroughTheCasts) {
  DeviceBuffer<float> in = upload(std::vector<float>{std::nanf("")});
  DeviceBuffer<half_bits> half(allocator(), 1);
  to_half(std::span<const float>(in.span()), half.span(), stream());
  const half_bits h = download(half)[0];
  EXPECT_TRUE(std::isnan(half_to_float(h)));
}

TEST_F(Elementwise, Fp32AddAndReluMatchTheCpuBitForBit) {
  const std::vector<float> a = awkward_values(), b = test::normal_values(a.size(), 12, 50.0f);
  DeviceBuffer<float> da = upload(a), db = upload(b);
  DeviceBuffer<float> sum(allocator(), a.size()), y(allocator(), a.size()),
      dx(allocator(), a.size());
  add(std::span<const float>(da.span()), std::span<const float>(db.span()), sum.span(), stream());
  relu_forward(std::span<const float>(da.span()), y.span(), stream());
  relu_backward(std::span<const float>(y.span()), std::span<const float>(db.span()), dx.span(),
                stream());
  std::vector<float> e_sum(a.size()), e_y(a.size()), e_dx(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    e_sum[i] = a[i] + b[i];
    e_y[i] = math::relu(a[i]);
    e_dx[i] = math::relu_backward(e_y[i], b[i]);
  }
  EXPECT_EQ(download(sum), e_sum);
  EXPECT_EQ(download(y), e_y);
  EXPECT_EQ(download(dx), e_dx);
}

TEST_F(Elementwise, ReluKeepsNan) {
  DeviceBuffer<float> x = upload(std::vector<float>{std::nanf(""), -1.0f, 2.0f});
  DeviceBuffer<float> y(allocator(), 3);
  relu_forward(std::span<const float>(x.span()), y.span(), stream());
  const std::vector<float> out = download(y);
  EXPECT_TRUE(std::isnan(out[0]));
  EXPECT_EQ(out[1], 0.0f);
  EXPECT_EQ(out[2], 2.0f);
}

TEST_F(Elementwise, HalfAddAndReluRoundTheFp32ResultToHalf) {
  const std::vector<half_bits> a = host_to_half(test::normal_values(50001, 13, 1000.0f));
  const std::vector<half_bits> b = host_to_half(test::normal_values(50001, 14, 1000.0f));
  DeviceBuffer<half_bits> da = upload(a), db = upload(b);
  DeviceBuffer<half_bits> sum(allocator(), a.size()), y(allocator(), a.size()),
      dx(allocator(), a.size());
  add(std::span<const half_bits>(da.span()), std::span<const half_bits>(db.span()), sum.span(),
      stream());
  relu_forward(std::span<const half_bits>(da.span()), y.span(), stream());
  relu_backward(std::span<const half_bits>(y.span()), std::span<const half_bits>(db.span()),
                dx.span(), stream());
  std::vector<half_bits> e_sum(a.size()), e_y(a.size()), e_dx(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    const float fa = half_to_float(a[i]), fb = half_to_float(b[i]);
    e_sum[i] = float_to_half(fa + fb);
    e_y[i] = float_to_half(math::relu(fa));
    e_dx[i] = float_to_half(math::relu_backward(half_to_float(e_y[i]), fb));
  }
  EXPECT_EQ(download(sum), e_sum);
  EXPECT_EQ(download(y), e_y);
  EXPECT_EQ(download(dx), e_dx);
}

TEST(ElementwiseArguments, MismatchedSizesAreRefusedBeforeAnyLaunch) {
  std::vector<float> a(3), b(4);
  EXPECT_THROW(
      add(std::span<const float>(a), std::span<const float>(b), std::span<float>(a), nullptr),
      std::invalid_argument);
}

}  // namespace
}  // namespace lb::cuda
