#pragma once
// cuDNN handle, tensor and filter descriptors, and typed device tensors for
// the cuDNN wrappers (cudnn_convolution.hpp, cudnn_batch_norm.hpp,
// cudnn_pooling.hpp, cudnn_activation.hpp). Activations are NCHW, fp32 or
// fp16 (binary16 bits, lb::half_bits); arithmetic is fp32 either way.
#include <cudnn.h>

#include <cstdint>
#include <span>

#include "runtime/core/half.hpp"

namespace lb::cuda {

enum class DataType { fp32, fp16 };
cudnnDataType_t cudnn_type(DataType type);

struct Nchw {
  std::int64_t n, c, h, w;
  std::int64_t count() const { return n * c * h * w; }
  bool operator==(const Nchw&) const = default;
};

// A device tensor handed to cuDNN: where its elements are, how many, and of
// which type, taken from a typed span so that counts never mix with bytes.
struct DeviceTensor {
  DeviceTensor(std::span<float> s) : data(s.data()), count(s.size()), type(DataType::fp32) {}
  DeviceTensor(std::span<half_bits> s) : data(s.data()), count(s.size()), type(DataType::fp16) {}
  void* data;
  std::size_t count;
  DataType type;
};

struct ConstDeviceTensor {
  ConstDeviceTensor(std::span<const float> s)
      : data(s.data()), count(s.size()), type(DataType::fp32) {}
  ConstDeviceTensor(std::span<const half_bits> s)
      : data(s.data()), count(s.size()), type(DataType::fp16) {}
  ConstDeviceTensor(std::span<float> s) : ConstDeviceTensor(std::span<const float>(s)) {}
  ConstDeviceTensor(std::span<half_bits> s) : ConstDeviceTensor(std::span<const half_bits>(s)) {}
  ConstDeviceTensor(DeviceTensor t) : data(t.data), count(t.count), type(t.type) {}
  const void* data;
  std::size_t count;
  DataType type;
};

// Throws std::invalid_argument naming `what` unless `t` holds `shape` of `type`.
void require(const ConstDeviceTensor& t, const Nchw& shape, DataType type, const char* what);

// A cuDNN handle bound to one stream (and the current device).
class CudnnHandle {
 public:
  explicit CudnnHandle(cudaStream_t stream);
  ~CudnnHandle();
  CudnnHandle(const CudnnHandle&) = delete;
  CudnnHandle& operator=(const CudnnHandle&) = delete;
  cudnnHandle_t get() const { return handle_; }

 private:
  cudnnHandle_t handle_ = nullptr;
};

class TensorDescriptor {
 public:
  TensorDescriptor(const Nchw& shape, DataType type);  // packed NCHW
  ~TensorDescriptor();
  TensorDescriptor(const TensorDescriptor&) = delete;
  TensorDescriptor& operator=(const TensorDescriptor&) = delete;
  cudnnTensorDescriptor_t get() const { return desc_; }

 private:
  cudnnTensorDescriptor_t desc_ = nullptr;
};

class FilterDescriptor {
 public:
  // (out_channels, in_channels / groups, kernel_h, kernel_w), as the CPU's Conv2d weight.
  FilterDescriptor(const Nchw& shape, DataType type);
  ~FilterDescriptor();
  FilterDescriptor(const FilterDescriptor&) = delete;
  FilterDescriptor& operator=(const FilterDescriptor&) = delete;
  cudnnFilterDescriptor_t get() const { return desc_; }

 private:
  cudnnFilterDescriptor_t desc_ = nullptr;
};

}  // namespace lb::cuda
