#pragma once
// A typed block of device memory from the caching allocator, and copies
// between host and device spans. Counts are elements of T; the byte counts
// the CUDA calls need are derived here and nowhere else.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <span>
#include <stdexcept>
#include <utility>

#include "runtime/backends/cuda/caching_allocator.hpp"

namespace lb::cuda {

template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(CachingAllocator& allocator, std::size_t count)
      : allocator_(&allocator),
        data_(static_cast<T*>(allocator.allocate(count * sizeof(T)))),
        count_(count) {}
  ~DeviceBuffer() { reset(); }
  DeviceBuffer(DeviceBuffer&& other) noexcept { *this = std::move(other); }
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
      reset();
      allocator_ = std::exchange(other.allocator_, nullptr);
      data_ = std::exchange(other.data_, nullptr);
      count_ = std::exchange(other.count_, 0);
    }
    return *this;
  }

  std::span<T> span() const { return {data_, count_}; }
  T* data() const { return data_; }
  std::size_t size() const { return count_; }
  // Back to the allocator's free list (stream-ordered reuse, see
  // caching_allocator.hpp).
  void reset() {
    if (allocator_ != nullptr) allocator_->deallocate(data_);
    allocator_ = nullptr;
    data_ = nullptr;
    count_ = 0;
  }

 private:
  CachingAllocator* allocator_ = nullptr;
  T* data_ = nullptr;
  std::size_t count_ = 0;
};

// Enqueues a copy of `bytes` on `stream` (cudaMemcpyDefault: the pointers
// say where they are). From pageable host memory the call returns only once
// the source has been read.
void copy_bytes(void* destination, const void* source, std::size_t bytes, cudaStream_t stream);

template <class T>
void copy(std::span<const T> source, std::span<T> destination, cudaStream_t stream) {
  if (source.size() != destination.size()) {
    throw std::invalid_argument("cuda::copy: source and destination sizes differ");
  }
  copy_bytes(destination.data(), source.data(), source.size_bytes(), stream);
}

template <class T>
void copy(std::span<T> source, std::span<T> destination, cudaStream_t stream) {
  copy(std::span<const T>(source), destination, stream);
}

}  // namespace lb::cuda
