#include "runtime/backends/cuda/net/tensor_ops.hpp"

#include <stdexcept>
#include <string>

#include "runtime/backends/cuda/elementwise.hpp"
#include "runtime/backends/cuda/layer_kernels.hpp"

namespace lb::cuda {
namespace {

void require_same_type(const GpuTensor& a, const GpuTensor& b, const char* what) {
  if (a.type != b.type) throw std::invalid_argument(std::string(what) + ": operand types differ");
}

// Calls fn with a value of the C++ type that stores `t`'s elements.
template <class Fn>
void with_type(const GpuTensor& t, Fn&& fn) {
  if (t.type == DataType::fp16) {
    fn(half_bits{});
  } else {
    fn(float{});
  }
}

template <class T>
std::span<const T> in(const GpuTensor& t) {
  return t.as<T>();
}

}  // namespace

void relu_forward(const GpuTensor& x, const GpuTensor& y, cudaStream_t stream) {
  require_same_type(x, y, "relu_forward");
  with_type(y, [&](auto tag) {
    using T = decltype(tag);
    relu_forward(in<T>(x), y.as<T>(), stream);
  });
}

void relu_backward(const GpuTensor& y, const GpuTensor& dy, const GpuTensor& dx,
                   cudaStream_t stream) {
  require_same_type(y, dy, "relu_backward");
  require_same_type(y, dx, "relu_backward");
  with_type(y, [&](auto tag) {
    using T = decltype(tag);
    relu_backward(in<T>(y), in<T>(dy), dx.as<T>(), stream);
  });
}

void add(const GpuTensor& a, const GpuTensor& b, const GpuTensor& out, cudaStream_t stream) {
  require_same_type(a, out, "add");
  require_same_type(b, out, "add");
  with_type(out, [&](auto tag) {
    using T = decltype(tag);
    add(in<T>(a), in<T>(b), out.as<T>(), stream);
  });
}

void add_relu(const GpuTensor& a, const GpuTensor& b, const GpuTensor& out, cudaStream_t stream) {
  require_same_type(a, out, "add_relu");
  require_same_type(b, out, "add_relu");
  with_type(out, [&](auto tag) {
    using T = decltype(tag);
    add_relu(in<T>(a), in<T>(b), out.as<T>(), stream);
  });
}

void apply_keep_mask(const GpuTensor& x, std::span<const std::uint8_t> keep, float scale,
                     const GpuTensor& out, cudaStream_t stream) {
  require_same_type(x, out, "apply_keep_mask");
  with_type(out, [&](auto tag) {
    using T = decltype(tag);
    apply_keep_mask(in<T>(x), keep, scale, out.as<T>(), stream);
  });
}

void fill(const GpuTensor& out, float value, cudaStream_t stream) {
  with_type(out, [&](auto tag) {
    using T = decltype(tag);
    fill(out.as<T>(), value, stream);
  });
}

void cast(const GpuTensor& from, const GpuTensor& to, cudaStream_t stream) {
  if (from.numel() != to.numel()) throw std::invalid_argument("cast: element counts differ");
  if (from.type == to.type) {
    copy_bytes(to.data, from.data, static_cast<std::size_t>(to.numel()) * element_bytes(to.type),
               stream);
  } else if (from.type == DataType::fp32) {
    to_half(in<float>(from), to.as<half_bits>(), stream);
  } else {
    from_half(in<half_bits>(from), to.as<float>(), stream);
  }
}

void gemm(CublasHandle& handle, const GemmShape& shape, float alpha, const GpuTensor& a,
          const GpuTensor& b, float beta, const GpuTensor& c) {
  require_same_type(a, c, "gemm");
  require_same_type(b, c, "gemm");
  with_type(c, [&](auto tag) {
    using T = decltype(tag);
    gemm(handle, shape, alpha, in<T>(a), in<T>(b), beta, c.as<T>());
  });
}

}  // namespace lb::cuda
