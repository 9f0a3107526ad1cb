#pragma once
// The layer interface shared by the runtime (which trains it) and the
// simulator (which reads its cost table). A layer is configured on
// construction without allocating; init() allocates and initialises its
// parameters. Each layer owns its output and input-gradient buffers, so the
// tensor returned by forward() stays valid until the next forward().
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/precision.hpp"
#include "runtime/core/rng.hpp"
#include "runtime/nn/param.hpp"
#include "runtime/tensor/tensor.hpp"

namespace lb {

enum class Mode { train, eval };

class Layer;

// Told when each leaf layer finishes its forward or backward, and when a
// composite finishes work of its own (a residual block's add). The trainer
// uses it to time layers (traces, profile.json) and to start a gradient
// bucket's all-reduce the moment backward has produced its last gradient,
// while the backward of the layers before it goes on.
class LayerObserver {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~LayerObserver() = default;
  virtual void forward_done(const Layer& leaf, TimePoint begin, TimePoint end) {}
  // The leaf's parameter gradients are final (rounded to half in fp16 mode).
  virtual void backward_done(const Layer& leaf, TimePoint begin, TimePoint end) {}
};

struct Context {
  Mode mode = Mode::train;
  Precision precision = Precision::fp32;
  std::uint64_t seed = 0;  // per-step seed for stochastic layers (dropout)
  LayerObserver* observer = nullptr;
  // Training-mode BatchNorm normalises each consecutive group of this many
  // images with the group's own statistics ("ghost" batch normalisation,
  // Hoffer et al. 2017), as each rank of a data-parallel run does with its
  // share of the batch. 0: the whole batch is one group.
  std::int64_t bn_ghost_batch = 0;
};

// One row of a model's cost table; shapes include the batch dimension.
struct LayerInfo {
  std::string name;  // "layer1.0.conv1"
  std::string kind;  // "conv2d"
  Shape output_shape;
  std::int64_t params = 0;
  double forward_flops = 0;  // multiply-adds count as 2 FLOPs
};

class Layer {
 public:
  explicit Layer(std::string name) : name_(std::move(name)) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  const std::string& name() const { return name_; }
  virtual std::string kind() const = 0;
  virtual Shape output_shape(const Shape& input) const = 0;
  virtual std::int64_t param_count() const { return 0; }
  virtual double forward_flops(const Shape& input) const { return 0; }

  // Allocates and initialises parameters and buffers (He/Kaiming for conv and
  // linear weights, γ=1 β=0 for BatchNorm unless configured otherwise).
  virtual void init(Rng& rng) {}

  // In fp16 mode a leaf's output and input gradient are rounded to half here,
  // once, so no layer has to remember to do it. Inputs may be in any layout;
  // results are plain (NCHW), converted here if the layer produced a blocked
  // layout (see Layout). x must outlive backward(): layers keep a pointer to it.
  const Tensor& forward(const Tensor& x, const Context& ctx);
  const Tensor& backward(const Tensor& dy, const Context& ctx);
  // As forward()/backward() but the result keeps the layer's own layout:
  // what containers call on their children so blocked activations pass from
  // layer to layer without conversions.
  const Tensor& forward_native(const Tensor& x, const Context& ctx);
  const Tensor& backward_native(const Tensor& dy, const Context& ctx);

  virtual std::vector<Param*> params() { return {}; }
  // Non-trainable state that a checkpoint must keep (BatchNorm running stats).
  virtual std::vector<Tensor*> buffers() { return {}; }
  // Appends this layer's rows (a composite appends its children's).
  virtual void describe(const Shape& input, std::vector<LayerInfo>& rows) const;
  // Leaves are timed and rounded individually; composites delegate.
  virtual bool is_composite() const { return false; }

  // The first layer of a model need not compute the gradient of its input
  // (the images); backward_impl may then return an empty tensor.
  virtual void set_needs_input_grad(bool needed) { needs_input_grad_ = needed; }
  bool needs_input_grad() const { return needs_input_grad_; }

  // Gives the buffer of the last backward()'s input gradient back to the
  // GradientPool; containers call it once that gradient has been consumed.
  // Callers that never do simply keep it until the next backward().
  virtual void release_input_grad();

 protected:
  virtual Tensor& forward_impl(const Tensor& x, const Context& ctx) = 0;
  // Returns dx and overwrites the parameter gradients.
  virtual Tensor& backward_impl(const Tensor& dy, const Context& ctx) = 0;
  // The buffer backward_impl returns its input gradient in, reshaped; borrowed
  // from the GradientPool until release_input_grad().
  Tensor& input_grad(const Shape& shape, Layout layout = Layout::plain);
  // What backward_impl returns when the input gradient is not needed: empty.
  Tensor& no_input_grad() {
    release_input_grad();
    return input_grad_;
  }

 private:
  std::string name_;
  bool needs_input_grad_ = true;
  Tensor input_grad_;
  Tensor plain_y_, plain_dx_;  // plain copies of blocked results, for direct callers
};

}  // namespace lb
