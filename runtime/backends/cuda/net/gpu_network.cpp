#include "runtime/backends/cuda/net/gpu_network.hpp"

#include <stdexcept>

#include "runtime/backends/cuda/net/gpu_batch_norm.hpp"
#include "runtime/backends/cuda/net/gpu_conv2d.hpp"
#include "runtime/backends/cuda/net/gpu_dropout.hpp"
#include "runtime/backends/cuda/net/gpu_flatten.hpp"
#include "runtime/backends/cuda/net/gpu_linear.hpp"
#include "runtime/backends/cuda/net/gpu_pool2d.hpp"
#include "runtime/backends/cuda/net/gpu_relu.hpp"
#include "runtime/backends/cuda/net/gpu_residual.hpp"
#include "runtime/backends/cuda/net/gpu_sequential.hpp"
#include "runtime/nn/avg_pool2d.hpp"
#include "runtime/nn/flatten.hpp"
#include "runtime/nn/global_avg_pool.hpp"
#include "runtime/nn/max_pool2d.hpp"
#include "runtime/nn/relu.hpp"
#include "runtime/nn/sequential.hpp"

namespace lb::cuda {
namespace {

std::unique_ptr<GpuLayer> build_container(const Layer& layer, const GpuRuntime& rt) {
  if (const auto* seq = dynamic_cast<const Sequential*>(&layer)) {
    auto gpu = std::make_unique<GpuSequential>(layer, rt);
    for (std::size_t i = 0; i < seq->size(); ++i) gpu->add(build_gpu_layer((*seq)[i], rt));
    return gpu;
  }
  if (const auto* res = dynamic_cast<const Residual*>(&layer)) {
    auto shortcut = res->shortcut() ? build_gpu_layer(*res->shortcut(), rt) : nullptr;
    return std::make_unique<GpuResidual>(*res, build_gpu_layer(res->branch(), rt),
                                         std::move(shortcut), rt);
  }
  return nullptr;
}

std::unique_ptr<GpuLayer> build_pool(const Layer& layer, const GpuRuntime& rt) {
  if (const auto* p = dynamic_cast<const MaxPool2d*>(&layer)) {
    return std::make_unique<GpuPool2d>(
        layer, PoolWindow{PoolMode::max, p->kernel(), p->stride(), p->padding()}, rt);
  }
  if (const auto* p = dynamic_cast<const AvgPool2d*>(&layer)) {
    return std::make_unique<GpuPool2d>(
        layer, PoolWindow{PoolMode::average, p->kernel(), p->stride(), p->padding()}, rt);
  }
  if (dynamic_cast<const GlobalAvgPool*>(&layer)) {
    return std::make_unique<GpuPool2d>(layer, PoolWindow{PoolMode::average}, rt);
  }
  return nullptr;
}

std::unique_ptr<GpuLayer> build_leaf(const Layer& layer, const GpuRuntime& rt) {
  if (const auto* l = dynamic_cast<const Conv2d*>(&layer))
    return std::make_unique<GpuConv2d>(*l, rt);
  if (const auto* l = dynamic_cast<const Linear*>(&layer))
    return std::make_unique<GpuLinear>(*l, rt);
  if (const auto* l = dynamic_cast<const BatchNorm*>(&layer)) {
    return std::make_unique<GpuBatchNorm>(*l, rt);
  }
  if (const auto* l = dynamic_cast<const Dropout*>(&layer))
    return std::make_unique<GpuDropout>(*l, rt);
  if (dynamic_cast<const ReLU*>(&layer)) return std::make_unique<GpuRelu>(layer, rt);
  if (dynamic_cast<const Flatten*>(&layer)) return std::make_unique<GpuFlatten>(layer, rt);
  return build_pool(layer, rt);
}

}  // namespace

std::unique_ptr<GpuLayer> build_gpu_layer(const Layer& layer, const GpuRuntime& runtime) {
  if (auto gpu = build_container(layer, runtime)) return gpu;
  if (auto gpu = build_leaf(layer, runtime)) return gpu;
  throw std::invalid_argument(layer.name() + ": layer kind \"" + layer.kind() +
                              "\" has no GPU version");
}

}  // namespace lb::cuda
