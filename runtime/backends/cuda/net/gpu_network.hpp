#pragma once
// Builds the GPU counterpart of a CPU layer tree (a zoo model's net): the
// same structure, each leaf replaced by its cuDNN / cuBLAS version. The GPU
// layers keep references to the CPU layers, which must outlive them.
#include <memory>

#include "runtime/backends/cuda/net/gpu_layer.hpp"

namespace lb::cuda {

// Throws std::invalid_argument for a layer kind that has no GPU version.
std::unique_ptr<GpuLayer> build_gpu_layer(const Layer& layer, const GpuRuntime& runtime);

}  // namespace lb::cuda
