#pragma once
// Fully connected layer y = x Wᵀ + b on a 2-D input (N, in_features), using
// oneDNN inner product; see WeightedLayer for the plans and layouts.
#include <memory>
#include <string>
#include <vector>

#include "runtime/nn/weighted_layer.hpp"

namespace lb {

class Linear : public WeightedLayer {
 public:
  Linear(std::string name, int in_features, int out_features, bool bias = true);
  ~Linear() override;

  std::string kind() const override { return "linear"; }
  Shape output_shape(const Shape& input) const override;
  std::int64_t param_count() const override;
  double forward_flops(const Shape& input) const override;
  // PyTorch's default: weight and bias uniform in ±1/sqrt(in_features).
  void init(Rng& rng) override;

  int in_features() const { return in_; }
  int out_features() const { return out_; }

 protected:
  Built build_forward(const Shape& input, bool training) const override;
  Built build_backward_data(const Shape& input) const override;
  Built build_backward_weights(const Shape& input) const override;

 private:
  int in_, out_;
};

}  // namespace lb
