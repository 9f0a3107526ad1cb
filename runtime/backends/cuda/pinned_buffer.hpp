#pragma once
// Page-locked host memory (cudaMallocHost): the staging area of host<->device
// copies that must not block the host (cudaMemcpyAsync is asynchronous only
// from and to pinned memory) and that the DMA engines read at full speed.
// Counts are elements of T.
#include <cstddef>
#include <span>
#include <utility>

namespace lb::cuda {

void* allocate_pinned(std::size_t bytes);
void free_pinned(void* pointer) noexcept;

template <class T>
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  explicit PinnedBuffer(std::size_t count)
      : data_(static_cast<T*>(allocate_pinned(count * sizeof(T)))), count_(count) {}
  ~PinnedBuffer() { free_pinned(data_); }
  PinnedBuffer(PinnedBuffer&& other) noexcept { *this = std::move(other); }
  PinnedBuffer& operator=(PinnedBuffer&& other) noexcept {
    if (this != &other) {
      free_pinned(data_);
      data_ = std::exchange(other.data_, nullptr);
      count_ = std::exchange(other.count_, 0);
    }
    return *this;
  }

  std::span<T> span() const { return {data_, count_}; }
  T* data() const { return data_; }
  std::size_t size() const { return count_; }
  // Keeps the allocation when it holds `count` already; else a new one.
  void ensure(std::size_t count) {
    if (count > count_) *this = PinnedBuffer(count);
  }

 private:
  T* data_ = nullptr;
  std::size_t count_ = 0;
};

}  // namespace lb::cuda
