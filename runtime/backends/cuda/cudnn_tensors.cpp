#include "runtime/backends/cuda/cudnn_tensors.hpp"

#include <climits>
#include <stdexcept>
#include <string>

#include "runtime/backends/cuda/cuda_error.hpp"

namespace lb::cuda {
namespace {

int as_int(std::int64_t v) {
  if (v < 0 || v > INT_MAX) throw std::invalid_argument("cuDNN: dimension out of range");
  return static_cast<int>(v);
}

}  // namespace

cudnnDataType_t cudnn_type(DataType type) {
  return type == DataType::fp16 ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT;
}

void require(const ConstDeviceTensor& t, const Nchw& shape, DataType type, const char* what) {
  if (t.type != type) throw std::invalid_argument(std::string(what) + ": wrong element type");
  if (t.count != static_cast<std::size_t>(shape.count())) {
    throw std::invalid_argument(std::string(what) + ": " + std::to_string(t.count) +
                                " elements, the shape has " + std::to_string(shape.count()));
  }
}

CudnnHandle::CudnnHandle(cudaStream_t stream) {
  LB_CUDA_CHECK(cudnnCreate(&handle_));
  LB_CUDA_CHECK(cudnnSetStream(handle_, stream));
}

CudnnHandle::~CudnnHandle() { cudnnDestroy(handle_); }  // must not throw

TensorDescriptor::TensorDescriptor(const Nchw& s, DataType type) {
  LB_CUDA_CHECK(cudnnCreateTensorDescriptor(&desc_));
  LB_CUDA_CHECK(cudnnSetTensor4dDescriptor(desc_, CUDNN_TENSOR_NCHW, cudnn_type(type), as_int(s.n),
                                           as_int(s.c), as_int(s.h), as_int(s.w)));
}

TensorDescriptor::~TensorDescriptor() { cudnnDestroyTensorDescriptor(desc_); }

FilterDescriptor::FilterDescriptor(const Nchw& s, DataType type) {
  LB_CUDA_CHECK(cudnnCreateFilterDescriptor(&desc_));
  LB_CUDA_CHECK(cudnnSetFilter4dDescriptor(desc_, cudnn_type(type), CUDNN_TENSOR_NCHW, as_int(s.n),
                                           as_int(s.c), as_int(s.h), as_int(s.w)));
}

FilterDescriptor::~FilterDescriptor() { cudnnDestroyFilterDescriptor(desc_); }

}  // namespace lb::cuda
