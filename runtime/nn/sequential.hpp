#pragma once
// A chain of layers. Composite: the children are the leaves that get rounded
// and timed; Sequential only wires their outputs and gradients together.
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/nn/layer.hpp"

namespace lb {

class Sequential : public Layer {
 public:
  explicit Sequential(std::string name) : Layer(std::move(name)) {}

  Layer& add(std::unique_ptr<Layer> layer);
  template <class L, class... A>
  L& emplace(A&&... args) {
    auto layer = std::make_unique<L>(std::forward<A>(args)...);
    L& ref = *layer;
    add(std::move(layer));
    return ref;
  }
  std::size_t size() const { return children_.size(); }
  Layer& operator[](std::size_t i) { return *children_.at(i); }
  const Layer& operator[](std::size_t i) const { return *children_.at(i); }

  std::string kind() const override { return "sequential"; }
  Shape output_shape(const Shape& input) const override;
  std::int64_t param_count() const override;
  double forward_flops(const Shape& input) const override;
  void init(Rng& rng) override;
  std::vector<Param*> params() override;
  std::vector<Tensor*> buffers() override;
  void describe(const Shape& input, std::vector<LayerInfo>& rows) const override;
  bool is_composite() const override { return true; }
  // Only the first child sees this chain's input, so only it is told.
  void set_needs_input_grad(bool needed) override;
  // Its input gradient is its first child's.
  void release_input_grad() override;

 protected:
  Tensor& forward_impl(const Tensor& x, const Context& ctx) override;
  Tensor& backward_impl(const Tensor& dy, const Context& ctx) override;

 private:
  std::vector<std::unique_ptr<Layer>> children_;
  Tensor passthrough_;  // output/gradient of an empty chain
};

// Visits the leaf layers under `root` in forward order, descending through
// Sequential and Residual (branch, then shortcut). A leaf root is visited itself.
void for_each_leaf(Layer& root, const std::function<void(Layer&)>& fn);
void for_each_leaf(const Layer& root, const std::function<void(const Layer&)>& fn);

}  // namespace lb
