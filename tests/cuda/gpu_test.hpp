#pragma once
// Shared by the CUDA tests. A test that needs a GPU derives from GpuTest:
// without a usable device SetUp() skips it, and GoogleTest prints
// "[  SKIPPED ]" with the reason, which ctest reports as Skipped (never as a
// pass); with LB_REQUIRE_GPU set (scripts/test-gpu) it fails instead.
// Helpers copy between host vectors and device buffers.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "runtime/backends/cuda/caching_allocator.hpp"
#include "runtime/backends/cuda/device.hpp"
#include "runtime/backends/cuda/device_buffer.hpp"
#include "runtime/backends/cuda/stream.hpp"

namespace lb::cuda::test {

class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (device_count(&why) == 0) {
      // scripts/test-gpu sets LB_REQUIRE_GPU: there a missing GPU is a failure.
      if (std::getenv("LB_REQUIRE_GPU") != nullptr) GTEST_FAIL() << "no CUDA GPU: " << why;
      GTEST_SKIP() << "SKIPPED: no CUDA GPU (" << why << ")";
    }
    device_.emplace(0);
    stream_ = std::make_unique<Stream>();
    allocator_ = std::make_unique<CachingAllocator>();
  }

  // A device copy of `host`.
  template <class T>
  DeviceBuffer<T> upload(const std::vector<T>& host) {
    DeviceBuffer<T> buffer(*allocator_, host.size());
    copy(std::span<const T>(host), buffer.span(), stream());
    return buffer;
  }

  // The device buffer's values, after everything enqueued so far.
  template <class T>
  std::vector<T> download(const DeviceBuffer<T>& buffer) {
    std::vector<T> host(buffer.size());
    copy(std::span<const T>(buffer.span()), std::span<T>(host), stream());
    stream_->synchronize();
    return host;
  }

  // False after SetUp skipped or failed: derived fixtures' SetUp asks first.
  bool has_gpu() const { return stream_ != nullptr; }
  cudaStream_t stream() const { return stream_->get(); }
  CachingAllocator& allocator() { return *allocator_; }

  std::optional<Device> device_;
  std::unique_ptr<Stream> stream_;
  std::unique_ptr<CachingAllocator> allocator_;
};

// Normal values with a fixed seed (printed by the test that uses it on failure).
inline std::vector<float> normal_values(std::size_t n, std::uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

}  // namespace lb::cuda::test
