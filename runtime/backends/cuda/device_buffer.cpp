#include "runtime/backends/cuda/device_buffer.hpp"

#include "runtime/backends/cuda/cuda_error.hpp"

namespace lb::cuda {

void copy_bytes(void* destination, const void* source, std::size_t bytes, cudaStream_t stream) {
  if (bytes == 0) return;
  LB_CUDA_CHECK(cudaMemcpyAsync(destination, source, bytes, cudaMemcpyDefault, stream));
}

}  // namespace lb::cuda
