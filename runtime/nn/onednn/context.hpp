#pragma once
// The process-wide oneDNN CPU engine and stream, and helpers to wrap our
// fp32 tensors as oneDNN memory without copying. Private to the CPU layers
// (runtime/nn): public headers stay free of oneDNN (cpu_settings.hpp holds
// the settings the rest of the runtime may change).
#include <oneapi/dnnl/dnnl.hpp>

#include "runtime/nn/cpu_settings.hpp"
#include "runtime/tensor/tensor.hpp"

namespace lb::cpu {

dnnl::engine& engine();
dnnl::stream& stream();

dnnl::memory::dims dims_of(const Shape& shape);
// The plain layout for a tensor of this rank: a (N), nc, nchw, oihw by rank.
dnnl::memory::format_tag plain_format(std::size_t rank);
dnnl::memory::desc plain_desc(const Shape& shape);
// The oneDNN format tag of a Layout for a tensor of this rank, and the
// descriptor of a tensor in that layout.
dnnl::memory::format_tag tag_of(Layout layout, std::size_t rank);
dnnl::memory::desc desc_of(const Shape& shape, Layout layout);
dnnl::memory::desc desc_of(const Tensor& t);
dnnl::memory wrap(const Tensor& t);  // in t's layout; oneDNN never writes through a const wrap

}  // namespace lb::cpu
