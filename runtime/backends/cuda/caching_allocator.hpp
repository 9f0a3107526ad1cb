#pragma once
// A caching device allocator. cudaMalloc and cudaFree are slow and cudaFree
// synchronises the whole device, so freed blocks go to a free list of their
// size class and are handed out again; the device only sees an allocation
// when no cached block of the class is free, and a free only when the cache
// is released explicitly or an allocation has run out of memory. A training
// step asks for the same sizes every step, so after the first step it never
// reaches the device at all.
//
// Reuse is stream-ordered: a block freed after enqueuing work that uses it
// may be handed to later work on the same stream. Work on another stream
// must be finished (or waited for with an Event) before its block is freed.
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "runtime/backends/cuda/device_memory_source.hpp"

namespace lb::cuda {

struct AllocatorStats {
  std::size_t bytes_in_use = 0;        // handed out, by size class
  std::size_t bytes_cached = 0;        // free, kept for reuse
  std::size_t peak_bytes_in_use = 0;   // the maximum of bytes_in_use so far
  std::size_t device_allocations = 0;  // calls that reached the source
  std::size_t device_frees = 0;
};

class CachingAllocator {
 public:
  explicit CachingAllocator(
      std::unique_ptr<DeviceMemorySource> source = std::make_unique<CudaMallocSource>());
  ~CachingAllocator();  // returns every block to the source
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // A block of at least `bytes` bytes, 256-byte aligned (what cudaMalloc
  // gives; vector loads need 16). Zero bytes still gives a distinct block.
  void* allocate(std::size_t bytes);
  // Returns a block from allocate() to its free list; never reaches the device.
  void deallocate(void* pointer);
  // Hands every cached block back to the device (cudaFree). Not for the
  // training loop: between phases, or before another library needs memory.
  void release_cached();
  AllocatorStats stats() const;

  // The block size handed out for a request: multiples of 512 bytes below
  // 1 MiB; above, multiples of an eighth of the power of two below the
  // request, so no block wastes more than 12.5 %.
  static std::size_t size_class(std::size_t bytes);

 private:
  void* take_cached(std::size_t size);  // nullptr when the class has none free
  void* allocate_from_source(std::size_t size);
  void release_cached_locked();

  std::unique_ptr<DeviceMemorySource> source_;
  mutable std::mutex mutex_;                        // the communication thread allocates too
  std::map<std::size_t, std::vector<void*>> free_;  // size class -> free blocks
  std::unordered_map<void*, std::size_t> in_use_;   // block -> its size class
  AllocatorStats stats_;
};

}  // namespace lb::cuda
