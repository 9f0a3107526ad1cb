#include "runtime/backends/cuda/pinned_buffer.hpp"

#include <cuda_runtime_api.h>

#include "runtime/backends/cuda/cuda_error.hpp"

namespace lb::cuda {

void* allocate_pinned(std::size_t bytes) {
  void* pointer = nullptr;
  // A zero-byte request still gives a distinct block, as the device allocator does.
  LB_CUDA_CHECK(cudaMallocHost(&pointer, bytes == 0 ? 1 : bytes));
  return pointer;
}

void free_pinned(void* pointer) noexcept {
  if (pointer != nullptr) cudaFreeHost(pointer);  // must not throw (destructors)
}

}  // namespace lb::cuda
