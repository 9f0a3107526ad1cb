#include "runtime/backends/cuda/device_memory_source.hpp"

#include <cuda_runtime_api.h>

#include "runtime/backends/cuda/cuda_error.hpp"

namespace lb::cuda {

void* CudaMallocSource::allocate(std::size_t bytes) {
  void* pointer = nullptr;
  try {
    LB_CUDA_CHECK(cudaMalloc(&pointer, bytes));
  } catch (const CudaError&) {
    cudaGetLastError();  // out of memory is not sticky: clear it for the caller's retry
    throw;
  }
  return pointer;
}

// cudaFree synchronises the device; the caching allocator calls it only when
// it is asked to release its cache or has run out of memory.
void CudaMallocSource::free(void* pointer) noexcept { cudaFree(pointer); }

}  // namespace lb::cuda
