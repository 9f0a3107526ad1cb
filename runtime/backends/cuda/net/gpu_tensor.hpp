#pragma once
// A view of an activation or gradient in device memory: NCHW (or (N, F))
// elements of one storage type. Views do not own; a GpuStorage (or the
// device training state, for parameters) owns the memory behind them.
#include <cstdint>
#include <span>
#include <type_traits>

#include "runtime/backends/cuda/caching_allocator.hpp"
#include "runtime/backends/cuda/cudnn_tensors.hpp"
#include "runtime/backends/cuda/device_buffer.hpp"
#include "runtime/tensor/tensor.hpp"

namespace lb::cuda {

struct GpuTensor {
  void* data = nullptr;
  Shape shape;
  DataType type = DataType::fp32;

  std::int64_t numel() const { return shape.empty() ? 0 : lb::numel(shape); }
  bool empty() const { return data == nullptr; }
  // (N, C, H, W) for cuDNN; a 2-D (N, F) tensor is (N, F, 1, 1).
  Nchw nchw() const;
  // The elements as T; throws std::logic_error unless T is the storage type.
  template <class T>
  std::span<T> as() const {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, half_bits>);
    require_type(std::is_same_v<T, float> ? DataType::fp32 : DataType::fp16);
    return {static_cast<T*>(data), static_cast<std::size_t>(numel())};
  }
  DeviceTensor device() const;
  ConstDeviceTensor const_device() const { return device(); }
  // The same memory under another shape with as many elements (Flatten).
  GpuTensor reshaped(const Shape& other) const;

 private:
  void require_type(DataType wanted) const;
};

std::size_t element_bytes(DataType type);

// Device memory that one owner reuses step after step for a tensor whose
// shape may change (training and evaluation batches): it grows when a view
// needs more, and is otherwise kept.
class GpuStorage {
 public:
  GpuTensor view(CachingAllocator& allocator, const Shape& shape, DataType type);
  // Whether view() can serve `shape` without a new allocation.
  bool fits(const Shape& shape, DataType type) const;
  // Back to the allocator (stream-ordered reuse: see caching_allocator.hpp).
  void release() { bytes_.reset(); }

 private:
  DeviceBuffer<std::byte> bytes_;
};

}  // namespace lb::cuda
