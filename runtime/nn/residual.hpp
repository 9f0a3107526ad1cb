#pragma once
// y = relu(branch(x) + shortcut(x)), shortcut = identity when null. Composite:
// its own work (the add and the ReLU) is small and is rounded here in fp16
// mode, because the base class rounds leaves only.
#include <memory>
#include <string>

#include "runtime/nn/layer.hpp"

namespace lb {

class Residual : public Layer {
 public:
  Residual(std::string name, std::unique_ptr<Layer> branch,
           std::unique_ptr<Layer> shortcut /* nullptr = identity */, bool relu_after = true);

  Layer& branch() { return *branch_; }
  const Layer& branch() const { return *branch_; }
  Layer* shortcut() { return shortcut_.get(); }
  const Layer* shortcut() const { return shortcut_.get(); }
  bool relu_after() const { return relu_after_; }

  std::string kind() const override { return "residual"; }
  Shape output_shape(const Shape& input) const override;
  std::int64_t param_count() const override;
  // Branch and shortcut, plus one add per output element (the ReLU is fused).
  double forward_flops(const Shape& input) const override;
  void init(Rng& rng) override;
  std::vector<Param*> params() override;
  std::vector<Tensor*> buffers() override;
  // Branch rows, shortcut rows, then a "NAME.add" row of kind "add".
  void describe(const Shape& input, std::vector<LayerInfo>& rows) const override;
  bool is_composite() const override { return true; }
  // Both paths read this block's input, so both are told.
  void set_needs_input_grad(bool needed) override;

 protected:
  Tensor& forward_impl(const Tensor& x, const Context& ctx) override;
  Tensor& backward_impl(const Tensor& dy, const Context& ctx) override;

 private:
  std::unique_ptr<Layer> branch_;
  std::unique_ptr<Layer> shortcut_;
  bool relu_after_;
  void mask_gradient(const Tensor& dy, Tensor& dsum);

  Tensor y_;
  Tensor converted_;  // an operand brought into the other's layout (rarely needed)
};

}  // namespace lb
