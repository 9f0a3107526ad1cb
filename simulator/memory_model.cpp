#include "simulator/memory_model.hpp"

#include <algorithm>

namespace lb::sim {
namespace {

constexpr double kGiB = 1024.0 * 1024 * 1024;
constexpr double kContextGiB = 1.0;  // CUDA context, library workspaces, allocator slack

double elements(const Shape& shape) {  // one image: every dimension but the batch
  double n = 1;
  for (std::size_t i = 1; i < shape.size(); ++i) n *= double(shape[i]);
  return n;
}

}  // namespace

MemoryEstimate memory_per_gpu(const Spec& spec, const ModelInfo& model,
                              std::int64_t per_gpu_batch) {
  const bool half = spec.train.precision == Precision::fp16;
  const double width = half ? 2 : 4;
  // fp32 master + fp32 gradient buckets + fp32 momentum, and in fp16 the
  // fp16 weights and gradients the layers use.
  const double bytes_per_param = 4 + 4 + 4 + (half ? 2 + 2 : 0);
  MemoryEstimate m;
  m.parameters_gib = double(model.params) * bytes_per_param / kGiB;
  double outputs = double(model.input_elements), largest = 0;
  for (const auto& row : model.table) {
    outputs += elements(row.output_shape);
    largest = std::max(largest, elements(row.output_shape));
  }
  const double batch = double(per_gpu_batch);
  m.activations_gib = outputs * width * batch / kGiB;
  m.workspace_gib = 2 * largest * width * batch / kGiB + kContextGiB;
  return m;
}

}  // namespace lb::sim
