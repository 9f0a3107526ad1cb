#pragma once
// Where the caching allocator gets device memory from. The real source is
// cudaMalloc/cudaFree; tests of the caching policy substitute a counting
// source so that the policy is tested on machines without a GPU too.
#include <cstddef>

namespace lb::cuda {

class DeviceMemorySource {
 public:
  virtual ~DeviceMemorySource() = default;
  // Throws (CudaError for the CUDA source) when the device is out of memory.
  virtual void* allocate(std::size_t bytes) = 0;
  virtual void free(void* pointer) noexcept = 0;
};

// cudaMalloc / cudaFree on the current device.
class CudaMallocSource final : public DeviceMemorySource {
 public:
  void* allocate(std::size_t bytes) override;
  void free(void* pointer) noexcept override;
};

}  // namespace lb::cuda
