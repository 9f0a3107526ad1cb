// The caching allocator's policy against a counting memory source (runs on
// every machine), and against cudaMalloc on a GPU.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>

#include "runtime/backends/cuda/caching_allocator.hpp"
#include "runtime/backends/cuda/cuda_error.hpp"
#include "tests/cuda/gpu_test.hpp"

namespace lb::cuda {
namespace {

// Hands out fake addresses and counts calls; can be told to run out of memory.
class CountingSource final : public DeviceMemorySource {
 public:
  struct Counts {
    int allocations = 0, frees = 0;
    std::size_t live_bytes = 0, capacity = SIZE_MAX;
  };
  explicit CountingSource(Counts& counts) : c_(counts) {}
  void* allocate(std::size_t bytes) override {
    if (c_.live_bytes + bytes > c_.capacity) {
      throw CudaError(Library::cuda, 2, "out of memory (fake)", {"allocate", __FILE__, __LINE__});
    }
    ++c_.allocations;
    c_.live_bytes += bytes;
    sizes_[next_] = bytes;
    next_ += 1 << 20;
    return reinterpret_cast<void*>(next_ - (1 << 20));
  }
  void free(void* p) noexcept override {
    ++c_.frees;
    c_.live_bytes -= sizes_[reinterpret_cast<std::uintptr_t>(p)];
  }

 private:
  Counts& c_;
  std::uintptr_t next_ = 1 << 20;
  std::map<std::uintptr_t, std::size_t> sizes_;
};

TEST(CachingAllocatorPolicy, SizeClassesWasteAtMostAnEighthAboveOneMiB) {
  EXPECT_EQ(CachingAllocator::size_class(0), 512u);
  EXPECT_EQ(CachingAllocator::size_class(1), 512u);
  EXPECT_EQ(CachingAllocator::size_class(512), 512u);
  EXPECT_EQ(CachingAllocator::size_class(513), 1024u);
  EXPECT_EQ(CachingAllocator::size_class((1 << 20) + 1), (1u << 20) + (1u << 17));
  for (std::size_t bytes = 1 << 20; bytes < (std::size_t{1} << 34); bytes = bytes * 3 / 2 + 7) {
    const std::size_t size = CachingAllocator::size_class(bytes);
    EXPECT_GE(size, bytes);
    EXPECT_LE(double(size - bytes), double(bytes) / 8.0) << bytes;
  }
}

TEST(CachingAllocatorPolicy, FreedBlocksAreReusedWithoutReachingTheDevice) {
  CountingSource::Counts counts;
  CachingAllocator allocator(std::make_unique<CountingSource>(counts));
  // Two "training steps" asking for the same sizes.
  for (int step = 0; step < 2; ++step) {
    void* a = allocator.allocate(1000);
    void* b = allocator.allocate(3 << 20);
    void* c = allocator.allocate(1000);
    allocator.deallocate(a);
    allocator.deallocate(b);
    allocator.deallocate(c);
  }
  EXPECT_EQ(counts.allocations, 3);  // the second step came from the cache
  EXPECT_EQ(counts.frees, 0);        // nothing went back to the device
  const AllocatorStats s = allocator.stats();
  EXPECT_EQ(s.bytes_in_use, 0u);
  EXPECT_EQ(s.bytes_cached, 2 * 1024u + (3u << 20));
  EXPECT_EQ(s.peak_bytes_in_use, 2 * 1024u + (3u << 20));
  EXPECT_EQ(s.device_allocations, 3u);
}

TEST(CachingAllocatorPolicy, StatsFollowUseCacheAndPeak) {
  CountingSource::Counts counts;
  CachingAllocator allocator(std::make_unique<CountingSource>(counts));
  void* a = allocator.allocate(4096);
  void* b = allocator.allocate(8192);
  EXPECT_EQ(allocator.stats().bytes_in_use, 4096u + 8192u);
  allocator.deallocate(b);
  EXPECT_EQ(allocator.stats().bytes_in_use, 4096u);
  EXPECT_EQ(allocator.stats().bytes_cached, 8192u);
  void* c = allocator.allocate(100);  // another class: a new block
  EXPECT_EQ(allocator.stats().peak_bytes_in_use, 4096u + 8192u);
  allocator.deallocate(a);
  allocator.deallocate(c);
  allocator.release_cached();
  EXPECT_EQ(allocator.stats().bytes_cached, 0u);
  EXPECT_EQ(counts.frees, 3);
  EXPECT_EQ(counts.live_bytes, 0u);
}

TEST(CachingAllocatorPolicy, OutOfMemoryReleasesTheCacheAndRetriesOnce) {
  CountingSource::Counts counts;
  counts.capacity = 3 << 20;
  CachingAllocator allocator(std::make_unique<CountingSource>(counts));
  allocator.deallocate(allocator.allocate(2 << 20));  // 2 MiB cached
  void* big = allocator.allocate(2 << 20 | 1);        // another class: needs the cached memory
  EXPECT_NE(big, nullptr);
  EXPECT_EQ(counts.frees, 1);
  EXPECT_THROW(allocator.allocate(2 << 20), CudaError);  // nothing left to release
}

TEST(CachingAllocatorPolicy, ForeignPointersAreRefused) {
  CountingSource::Counts counts;
  CachingAllocator allocator(std::make_unique<CountingSource>(counts));
  int not_a_block = 0;
  EXPECT_THROW(allocator.deallocate(&not_a_block), std::invalid_argument);
}

TEST(CachingAllocatorPolicy, DestructionReturnsEveryBlock) {
  CountingSource::Counts counts;
  {
    CachingAllocator allocator(std::make_unique<CountingSource>(counts));
    allocator.deallocate(allocator.allocate(100));
    allocator.allocate(5000);  // another class, still in use at destruction
  }
  EXPECT_EQ(counts.allocations, 2);
  EXPECT_EQ(counts.frees, 2);
}

using CachingAllocatorGpu = test::GpuTest;

TEST_F(CachingAllocatorGpu, BlocksAreDistinctAlignedAndReused) {
  std::set<void*> seen;
  std::vector<void*> blocks;
  for (std::size_t bytes : {1u, 512u, 4096u, 3u << 20}) {
    void* p = allocator().allocate(bytes);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 256, 0u);
    EXPECT_TRUE(seen.insert(p).second);
    blocks.push_back(p);
  }
  for (void* p : blocks) allocator().deallocate(p);
  const std::size_t allocations = allocator().stats().device_allocations;
  void* again = allocator().allocate(3u << 20);
  EXPECT_EQ(again, blocks.back());  // the cached block, not a new cudaMalloc
  EXPECT_EQ(allocator().stats().device_allocations, allocations);
  allocator().deallocate(again);
}

TEST_F(CachingAllocatorGpu, DeviceBufferRoundTripsThroughTheDevice) {
  const std::vector<float> host = test::normal_values(10000, 7);
  DeviceBuffer<float> buffer = upload(host);
  EXPECT_EQ(download(buffer), host);
}

}  // namespace
}  // namespace lb::cuda
