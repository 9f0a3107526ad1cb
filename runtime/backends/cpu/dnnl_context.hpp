#pragma once
// The process-wide oneDNN CPU engine and stream, and helpers to wrap our
// fp32 tensors as oneDNN memory without copying.
#include <oneapi/dnnl/dnnl.hpp>
#include <string>

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

// How convolutions are computed. `winograd` uses oneDNN's Winograd F(4x4, 3x3)
// kernels wherever oneDNN implements them (3x3, stride 1, for forward,
// backward-data and backward-weights alike) and direct convolution elsewhere;
// it does about 2.25x fewer multiplications on 3x3 layers and agrees with
// direct convolution to a relative RMS of ~1e-6 in fp32. `automatic` lets
// oneDNN's own heuristic choose per primitive; `direct` is what PyTorch's CPU
// convolutions use. Read when a layer builds its primitives: set it first.
enum class ConvAlgorithm { direct, winograd, automatic };
void set_conv_algorithm(ConvAlgorithm algorithm);
ConvAlgorithm conv_algorithm();
ConvAlgorithm parse_conv_algorithm(const std::string& name);  // "direct"|"winograd"|"auto"

// Sets the number of CPU threads oneDNN and our own loops use (0 = all cores).
void set_threads(int threads);
int threads();

}  // namespace lb::cpu
