#include "runtime/backends/cuda/device.hpp"

#include <cuda_runtime_api.h>

#include "runtime/backends/cuda/cuda_error.hpp"

namespace lb::cuda {

int device_count(std::string* why) {
  int count = 0;
  try {
    LB_CUDA_CHECK(cudaGetDeviceCount(&count));
  } catch (const CudaError& e) {
    cudaGetLastError();  // the failed probe must not look like a later kernel's error
    if (why != nullptr) *why = e.what();
    return 0;
  }
  if (count == 0 && why != nullptr) *why = "the CUDA driver reports no device";
  return count;
}

Device::Device(int ordinal) : ordinal_(ordinal) {
  make_current();
  cudaDeviceProp props{};
  LB_CUDA_CHECK(cudaGetDeviceProperties(&props, ordinal_));
  name_ = props.name;
  total_memory_bytes_ = props.totalGlobalMem;
  compute_capability_ = props.major * 10 + props.minor;
}

void Device::make_current() const { LB_CUDA_CHECK(cudaSetDevice(ordinal_)); }

void Device::synchronize() const {
  make_current();
  LB_CUDA_CHECK(cudaDeviceSynchronize());
}

}  // namespace lb::cuda
