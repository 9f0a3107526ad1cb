// Softmax cross-entropy on the GPU against the CPU layer
// (runtime/nn/softmax_cross_entropy.cpp). The reductions add in a different
// order and expf/logf differ from glibc's by an ulp or so, so the mean loss
// agrees to a relative 1e-5 and each gradient element to 1e-5 of the largest
// magnitude a gradient can have (loss_scale / N); argmax counts agree exactly.
#include "runtime/backends/cuda/softmax_cross_entropy.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "runtime/nn/softmax_cross_entropy.hpp"
#include "tests/cuda/gpu_test.hpp"

namespace lb::cuda {
namespace {

using SoftmaxXent = test::GpuTest;

TEST_F(SoftmaxXent, MatchesTheCpuLayer) {
  for (float smoothing : {0.0f, 0.1f}) {
    for (std::int64_t classes : {10, 1000}) {
      SCOPED_TRACE("classes " + std::to_string(classes) + ", smoothing " +
                   std::to_string(smoothing));
      const std::int64_t rows = 67;
      const std::vector<float> logits = test::normal_values(std::size_t(rows * classes), 31, 4.0f);
      std::vector<std::int32_t> labels(rows);
      for (std::int64_t r = 0; r < rows; ++r) labels[r] = std::int32_t(r * 7 % classes);
      Tensor host_logits({rows, classes});
      std::copy(logits.begin(), logits.end(), host_logits.data());
      SoftmaxCrossEntropy cpu;
      const float cpu_loss = cpu.forward(host_logits, labels, smoothing);
      const Tensor& cpu_grad = cpu.backward(128.0f);

      DeviceBuffer<float> d_logits = upload(logits), d_grad(allocator(), logits.size());
      DeviceBuffer<std::int32_t> d_labels = upload(labels), d_correct(allocator(), rows);
      DeviceBuffer<float> d_loss(allocator(), rows);
      softmax_cross_entropy({rows, classes}, std::span<const float>(d_logits.span()),
                            std::span<const std::int32_t>(d_labels.span()), smoothing, 128.0f,
                            d_loss.span(), d_correct.span(), d_grad.span(), stream());
      EXPECT_NEAR(mean_loss(download(d_loss)), cpu_loss, 1e-5 * std::abs(cpu_loss));
      const std::vector<std::int32_t> correct = download(d_correct);
      EXPECT_EQ(std::accumulate(correct.begin(), correct.end(), std::int64_t{0}), cpu.correct());
      const std::vector<float> grad = download(d_grad);
      const float tolerance = 1e-5f * 128.0f / float(rows);
      for (std::size_t i = 0; i < grad.size(); ++i) {
        ASSERT_NEAR(grad[i], cpu_grad.data()[i], tolerance) << "element " << i;
      }
    }
  }
}

TEST(SoftmaxXentArguments, ShapeMismatchIsRefusedBeforeAnyLaunch) {
  std::vector<float> logits(20), grad(20), loss(2);
  std::vector<std::int32_t> labels(3), correct(2);
  EXPECT_THROW(softmax_cross_entropy({2, 10}, std::span<const float>(logits),
                                     std::span<const std::int32_t>(labels), 0.0f, 1.0f, loss,
                                     correct, grad, nullptr),
               std::invalid_argument);
}

}  // namespace
}  // namespace lb::cuda
