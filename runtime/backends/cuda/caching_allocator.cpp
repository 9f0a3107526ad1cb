#include "runtime/backends/cuda/caching_allocator.hpp"

#include <algorithm>
#include <bit>
#include <stdexcept>

#include "runtime/backends/cuda/cuda_error.hpp"

namespace lb::cuda {
namespace {

constexpr std::size_t kSmallGranule = 512;
constexpr std::size_t kLargeFrom = std::size_t{1} << 20;
constexpr std::size_t kStepsPerDoubling = 8;

std::size_t round_up(std::size_t value, std::size_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

}  // namespace

std::size_t CachingAllocator::size_class(std::size_t bytes) {
  if (bytes < kLargeFrom) return round_up(std::max<std::size_t>(bytes, 1), kSmallGranule);
  const std::size_t power_below = std::bit_floor(bytes);
  return round_up(bytes, power_below / kStepsPerDoubling);
}

CachingAllocator::CachingAllocator(std::unique_ptr<DeviceMemorySource> source)
    : source_(std::move(source)) {}

CachingAllocator::~CachingAllocator() {
  std::lock_guard lock(mutex_);
  release_cached_locked();
  // Blocks still handed out belong to buffers that outlive the allocator, a
  // bug in the owner; they are returned too so the device memory is not lost.
  for (const auto& [pointer, size] : in_use_) source_->free(pointer);
}

void* CachingAllocator::allocate(std::size_t bytes) {
  const std::size_t size = size_class(bytes);
  std::lock_guard lock(mutex_);
  void* pointer = take_cached(size);
  if (pointer == nullptr) pointer = allocate_from_source(size);
  in_use_.emplace(pointer, size);
  stats_.bytes_in_use += size;
  stats_.peak_bytes_in_use = std::max(stats_.peak_bytes_in_use, stats_.bytes_in_use);
  return pointer;
}

void CachingAllocator::deallocate(void* pointer) {
  if (pointer == nullptr) return;
  std::lock_guard lock(mutex_);
  const auto it = in_use_.find(pointer);
  if (it == in_use_.end()) {
    throw std::invalid_argument("CachingAllocator::deallocate: not a block of this allocator");
  }
  const std::size_t size = it->second;
  in_use_.erase(it);
  free_[size].push_back(pointer);
  stats_.bytes_in_use -= size;
  stats_.bytes_cached += size;
}

void CachingAllocator::release_cached() {
  std::lock_guard lock(mutex_);
  release_cached_locked();
}

AllocatorStats CachingAllocator::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void* CachingAllocator::take_cached(std::size_t size) {
  const auto it = free_.find(size);
  if (it == free_.end() || it->second.empty()) return nullptr;
  void* pointer = it->second.back();  // the most recently freed: likeliest still in L2
  it->second.pop_back();
  stats_.bytes_cached -= size;
  return pointer;
}

// Out of memory with blocks of other classes cached: give those back and try
// once more before failing, rather than failing while memory sits idle.
void* CachingAllocator::allocate_from_source(std::size_t size) {
  void* pointer = nullptr;
  try {
    pointer = source_->allocate(size);
  } catch (const CudaError&) {
    if (stats_.bytes_cached == 0) throw;
    release_cached_locked();
    pointer = source_->allocate(size);
  }
  ++stats_.device_allocations;
  return pointer;
}

void CachingAllocator::release_cached_locked() {
  for (auto& [size, blocks] : free_) {
    for (void* pointer : blocks) source_->free(pointer);
    stats_.device_frees += blocks.size();
  }
  free_.clear();
  stats_.bytes_cached = 0;
}

}  // namespace lb::cuda
