#pragma once
// The GPU counterpart of lb::Layer (runtime/nn/layer.hpp). A GpuLayer is
// built from a CPU layer of the model zoo (gpu_network.hpp) and mirrors it:
// same shapes, same parameters (bound to device memory by the engine's
// device state), same conventions. It keeps a reference to that layer for
// its name, kind and cost-table row, so traces and profile.json name GPU
// work exactly as CPU work. All work is enqueued on the runtime's one
// compute stream: a tensor a layer returns stays valid until its next call.
#include <functional>
#include <string>
#include <vector>

#include "runtime/backends/cuda/cublas_gemm.hpp"
#include "runtime/backends/cuda/net/gpu_tensor.hpp"
#include "runtime/nn/layer.hpp"

namespace lb::cuda {

// What every GPU layer computes with. Activations, weights and weight
// gradients are stored as `type`; BatchNorm's γ, β and statistics are fp32
// (as on the CPU and in cuDNN).
struct GpuRuntime {
  cudaStream_t stream;
  CudnnHandle& cudnn;
  CublasHandle& cublas;
  CachingAllocator& allocator;
  DataType type;
};

enum class Direction { forward, backward };

class GpuLayer;

// Told around the work of each leaf layer, and around a composite's own
// work (a residual block's add), on the compute stream: the engine records
// CUDA events there for the per-layer timings, and after a leaf's backward
// it starts the all-reduce of its now-final gradients.
class GpuLayerObserver {
 public:
  virtual ~GpuLayerObserver() = default;
  virtual void started(const GpuLayer& layer, Direction direction) = 0;
  virtual void finished(const GpuLayer& layer, Direction direction) = 0;
};

struct GpuPass {
  Mode mode = Mode::train;
  std::uint64_t seed = 0;  // per-step seed for dropout, as Context::seed
  GpuLayerObserver* observer = nullptr;
};

// A trainable tensor: `value` is what forward reads (fp16 copies of the
// masters for half-stored parameters in fp16 mode, else the fp32 masters),
// `grad` where backward writes (overwritten every step). Bound by the engine.
struct GpuParam {
  const Param* source = nullptr;  // the CPU parameter: name, flags, shape
  GpuTensor value;
  GpuTensor grad;
};

// Non-trainable fp32 state a checkpoint keeps (BatchNorm running statistics).
struct GpuBuffer {
  const Tensor* source = nullptr;  // the CPU layer's tensor
  std::span<float> device;
};

class GpuLayer {
 public:
  GpuLayer(const Layer& source, const GpuRuntime& runtime) : runtime_(runtime), source_(source) {}
  virtual ~GpuLayer() = default;
  GpuLayer(const GpuLayer&) = delete;
  GpuLayer& operator=(const GpuLayer&) = delete;

  const Layer& source() const { return source_; }
  virtual bool is_composite() const { return false; }
  // The returned tensor stays valid until this layer's next forward (or backward).
  const GpuTensor& forward(const GpuTensor& x, const GpuPass& pass);
  const GpuTensor& backward(const GpuTensor& dy, const GpuPass& pass);
  // In the CPU layer's params() and buffers() order.
  virtual std::vector<GpuParam*> params() { return {}; }
  virtual std::vector<GpuBuffer*> buffers() { return {}; }
  // The leaves under this layer in forward order (itself for a leaf).
  virtual void for_each_leaf(const std::function<void(GpuLayer&)>& fn) { fn(*this); }
  // Returns the storage of the last backward's input gradient to the
  // allocator; containers call it once that gradient has been consumed.
  virtual void release_input_grad() { input_grad_.release(); }

 protected:
  virtual const GpuTensor& forward_impl(const GpuTensor& x, const GpuPass& pass) = 0;
  virtual const GpuTensor& backward_impl(const GpuTensor& dy, const GpuPass& pass) = 0;
  // Storage for the input gradient, borrowed until release_input_grad();
  // the returned view is what backward_impl returns.
  const GpuTensor& input_grad(const Shape& shape, DataType type);
  // What backward_impl returns when the input gradient is not needed: empty.
  const GpuTensor& no_input_grad();
  bool needs_input_grad() const { return source_.needs_input_grad(); }
  void started(const GpuPass& pass, Direction d) const;
  void finished(const GpuPass& pass, Direction d) const;

  const GpuRuntime& runtime_;

 private:
  const Layer& source_;
  GpuStorage input_grad_;
  GpuTensor dx_;  // a view of input_grad_, or empty
};

// Throws std::invalid_argument naming `layer` unless `actual` == `expected`.
void require_shape(const Layer& layer, const char* what, const Shape& actual,
                   const Shape& expected);

}  // namespace lb::cuda
