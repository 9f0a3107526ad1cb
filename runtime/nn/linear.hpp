#pragma once
// Fully connected layer y = x Wᵀ + b on a 2-D input (N, in_features), using
// oneDNN inner product. Primitives are built per input shape and cached.
#include <memory>
#include <string>
#include <vector>

#include "runtime/backends/cpu/dnnl_utils.hpp"
#include "runtime/nn/layer.hpp"

namespace lb {

class Linear : public Layer {
 public:
  Linear(std::string name, int in_features, int out_features, bool bias = true);
  ~Linear() override;

  std::string kind() const override { return "linear"; }
  Shape output_shape(const Shape& input) const override;
  std::int64_t param_count() const override;
  double forward_flops(const Shape& input) const override;
  // PyTorch's default: weight and bias uniform in ±1/sqrt(in_features).
  void init(Rng& rng) override;
  std::vector<Param*> params() override;

  int in_features() const { return in_; }
  int out_features() const { return out_; }
  bool has_bias() const { return has_bias_; }

 protected:
  // The input must stay alive and unchanged until backward().
  Tensor& forward_impl(const Tensor& x, const Context& ctx) override;
  Tensor& backward_impl(const Tensor& dy, const Context& ctx) override;

 private:
  struct Plan;
  std::unique_ptr<Plan> make_plan(const Shape& input, bool training) const;
  void backward_data(Plan& plan, const Tensor& dy);
  void backward_weights(Plan& plan, const Tensor& dy);

  int in_, out_;
  bool has_bias_;
  Param weight_;
  Param bias_;
  cpu::PlanCache<Plan> plans_;
  Plan* current_ = nullptr;  // the plan of the last forward()
  const Tensor* input_ = nullptr;
  Tensor y_;
  Tensor dx_;
};

}  // namespace lb
