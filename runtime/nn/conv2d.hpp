#pragma once
// 2-D convolution (square kernel, equal stride and padding on both axes, no
// groups or dilation) on oneDNN. Primitives are built per input shape and
// cached; oneDNN picks the memory layouts (format_tag::any) and data is
// reordered from and to our plain NCHW tensors only where its choice differs.
#include <memory>
#include <string>
#include <vector>

#include "runtime/backends/cpu/dnnl_utils.hpp"
#include "runtime/nn/layer.hpp"

namespace lb {

class Conv2d : public Layer {
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
  std::vector<Param*> params() override;

  int in_channels() const { return in_; }
  int out_channels() const { return out_; }
  int kernel() const { return kernel_; }
  int stride() const { return stride_; }
  int padding() const { return padding_; }
  bool has_bias() const { return has_bias_; }

 protected:
  // The input must stay alive and unchanged until backward() (true of every
  // layer's output, which is what a layer receives).
  Tensor& forward_impl(const Tensor& x, const Context& ctx) override;
  Tensor& backward_impl(const Tensor& dy, const Context& ctx) override;

 private:
  struct Plan;
  std::unique_ptr<Plan> make_plan(const Shape& input, bool training) const;
  void backward_data(Plan& plan, const Tensor& dy);
  void backward_weights(Plan& plan, const Tensor& dy);

  int in_, out_, kernel_, stride_, padding_;
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
