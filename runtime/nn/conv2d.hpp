#pragma once
// 2-D convolution (square kernel, equal stride and padding on both axes, no
// groups or dilation) on oneDNN; see WeightedLayer for the plans and layouts.
#include <memory>
#include <string>
#include <vector>

#include "runtime/nn/weighted_layer.hpp"

namespace lb {

class Conv2d : public WeightedLayer {
 public:
  Conv2d(std::string name, int in_channels, int out_channels, int kernel, int stride = 1,
         int padding = 0, bool bias = false);
  ~Conv2d() override;

  std::string kind() const override { return "conv2d"; }
  Shape output_shape(const Shape& input) const override;
  std::int64_t param_count() const override;
  double forward_flops(const Shape& input) const override;
  // He normal initialisation with fan_out (torchvision ResNet), zero bias.
  void init(Rng& rng) override;

  int in_channels() const { return in_; }
  int out_channels() const { return out_; }
  int kernel() const { return kernel_; }
  int stride() const { return stride_; }
  int padding() const { return padding_; }

 protected:
  Built build_forward(const Shape& input, bool training) const override;
  Built build_backward_data(const Shape& input) const override;
  Built build_backward_weights(const Shape& input) const override;

 private:
  int in_, out_, kernel_, stride_, padding_;
};

}  // namespace lb
