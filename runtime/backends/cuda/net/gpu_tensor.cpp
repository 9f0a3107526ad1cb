#include "runtime/backends/cuda/net/gpu_tensor.hpp"

#include <stdexcept>
#include <string>

namespace lb::cuda {

std::size_t element_bytes(DataType type) { return type == DataType::fp16 ? 2 : 4; }

Nchw GpuTensor::nchw() const {
  if (shape.size() == 4) return {shape[0], shape[1], shape[2], shape[3]};
  if (shape.size() == 2) return {shape[0], shape[1], 1, 1};
  throw std::invalid_argument("GPU tensor: expected (N, C, H, W) or (N, F), got " +
                              lb::to_string(shape));
}

void GpuTensor::require_type(DataType wanted) const {
  if (type != wanted) {
    throw std::logic_error(std::string("GPU tensor: holds ") +
                           (type == DataType::fp16 ? "fp16" : "fp32") + ", read as " +
                           (wanted == DataType::fp16 ? "fp16" : "fp32"));
  }
}

DeviceTensor GpuTensor::device() const {
  if (type == DataType::fp16) return DeviceTensor(as<half_bits>());
  return DeviceTensor(as<float>());
}

GpuTensor GpuTensor::reshaped(const Shape& other) const {
  if (lb::numel(other) != numel()) {
    throw std::invalid_argument("GPU tensor: cannot view " + lb::to_string(shape) + " as " +
                                lb::to_string(other));
  }
  return {data, other, type};
}

bool GpuStorage::fits(const Shape& shape, DataType type) const {
  const std::size_t bytes = static_cast<std::size_t>(lb::numel(shape)) * element_bytes(type);
  return bytes_.data() != nullptr && bytes_.size() >= bytes;
}

GpuTensor GpuStorage::view(CachingAllocator& allocator, const Shape& shape, DataType type) {
  if (!fits(shape, type)) {
    bytes_ = DeviceBuffer<std::byte>(
        allocator, static_cast<std::size_t>(lb::numel(shape)) * element_bytes(type));
  }
  return {bytes_.data(), shape, type};
}

}  // namespace lb::cuda
