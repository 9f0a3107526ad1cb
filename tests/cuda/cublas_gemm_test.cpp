// cuBLAS GEMM against a double-precision loop, row-major, all four
// transpose combinations and beta != 0. Tolerances scale with
// sum_k |a_ik b_kj| (the size a rounding error can have): 1e-5 of it for
// fp32 accumulation (fp32 or fp16 inputs, fp32 output); 1e-3 for fp16 output,
// which rounds to 11 significant bits (2^-11 ~ 4.9e-4).
#include "runtime/backends/cuda/cublas_gemm.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/cuda/gpu_test.hpp"

namespace lb::cuda {
namespace {

struct Reference {
  std::vector<double> c;      // (m, n)
  std::vector<double> bound;  // (m, n): sum_k |a_ik b_kj|
};

// Row-major reference of alpha * op(A) op(B) + beta * C.
Reference reference(const GemmShape& s, float alpha, const std::vector<float>& a,
                    const std::vector<float>& b, float beta, const std::vector<float>& c) {
  Reference r{std::vector<double>(c.size()), std::vector<double>(c.size())};
  for (std::int64_t i = 0; i < s.m; ++i) {
    for (std::int64_t j = 0; j < s.n; ++j) {
      double sum = 0, bound = 0;
      for (std::int64_t k = 0; k < s.k; ++k) {
        const double x = s.a == Transpose::no ? a[i * s.k + k] : a[k * s.m + i];
        const double y = s.b == Transpose::no ? b[k * s.n + j] : b[j * s.k + k];
        sum += x * y;
        bound += std::abs(x * y);
      }
      r.c[i * s.n + j] = alpha * sum + beta * double(c[i * s.n + j]);
      r.bound[i * s.n + j] = std::abs(alpha) * bound + std::abs(beta * c[i * s.n + j]);
    }
  }
  return r;
}

std::vector<float> rounded_to_half(std::vector<float> v) {
  round_to_half(v);
  return v;
}

std::vector<half_bits> bits_of(const std::vector<float>& v) {
  std::vector<half_bits> h(v.size());
  to_half(v, h);
  return h;
}

class CublasGemm : public test::GpuTest {
 protected:
  void SetUp() override {
    test::GpuTest::SetUp();
    if (has_gpu()) handle_ = std::make_unique<CublasHandle>(stream());
  }
  std::unique_ptr<CublasHandle> handle_;
};

constexpr GemmShape kShapes[] = {{33, 17, 65, Transpose::no, Transpose::no},
                                 {33, 17, 65, Transpose::yes, Transpose::no},
                                 {33, 17, 65, Transpose::no, Transpose::yes},
                                 {64, 128, 256, Transpose::yes, Transpose::yes}};

TEST_F(CublasGemm, Fp32MatchesADoubleLoop) {
  for (const GemmShape& s : kShapes) {
    const auto a = test::normal_values(s.m * s.k, 1), b = test::normal_values(s.k * s.n, 2);
    const auto c = test::normal_values(s.m * s.n, 3);
    const Reference r = reference(s, 1.5f, a, b, 0.5f, c);
    DeviceBuffer<float> da = upload(a), db = upload(b), dc = upload(c);
    gemm(*handle_, s, 1.5f, std::span<const float>(da.span()), std::span<const float>(db.span()),
         0.5f, dc.span());
    const std::vector<float> out = download(dc);
    for (std::size_t i = 0; i < out.size(); ++i) {
      ASSERT_NEAR(out[i], r.c[i], 1e-5 * r.bound[i]) << "m " << s.m << " element " << i;
    }
  }
}

TEST_F(CublasGemm, Fp16AccumulatesInFp32) {
  for (const GemmShape& s : kShapes) {
    const auto a = rounded_to_half(test::normal_values(s.m * s.k, 4));
    const auto b = rounded_to_half(test::normal_values(s.k * s.n, 5));
    const auto c = rounded_to_half(test::normal_values(s.m * s.n, 6));
    const Reference r = reference(s, 1.0f, a, b, 1.0f, c);
    DeviceBuffer<half_bits> da = upload(bits_of(a)), db = upload(bits_of(b));
    DeviceBuffer<half_bits> dc_half = upload(bits_of(c));
    DeviceBuffer<float> dc_float = upload(c);
    gemm(*handle_, s, 1.0f, std::span<const half_bits>(da.span()),
         std::span<const half_bits>(db.span()), 1.0f, dc_half.span());
    gemm(*handle_, s, 1.0f, std::span<const half_bits>(da.span()),
         std::span<const half_bits>(db.span()), 1.0f, dc_float.span());
    const std::vector<half_bits> out_half = download(dc_half);
    const std::vector<float> out_float = download(dc_float);
    for (std::size_t i = 0; i < out_float.size(); ++i) {
      ASSERT_NEAR(half_to_float(out_half[i]), r.c[i], 1e-3 * r.bound[i]) << "element " << i;
      ASSERT_NEAR(out_float[i], r.c[i], 1e-5 * r.bound[i]) << "element " << i;
    }
  }
}

}  // namespace
}  // namespace lb::cuda
