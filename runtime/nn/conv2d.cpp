#include "runtime/nn/conv2d.hpp"

#include <cmath>
#include <random>
#include <stdexcept>
#include <unordered_map>

#include "runtime/core/half.hpp"

namespace lb {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;

// Everything oneDNN needs for one input shape and mode. Backward primitives
// are built on the first backward() so evaluation-only plans never pay for
// them. Only the training input and the weights keep staging buffers of their
// own; outputs and gradients are staged in the shared scratch (see Operand),
// and operands that reuse another's data (bwd_data weights, bwd_weights
// src/diff_dst) never allocate any.
struct Conv2d::Plan {
  bool training = false;
  Shape in_shape, out_shape;
  dnnl::convolution_forward::primitive_desc fwd_pd;
  dnnl::convolution_forward fwd;
  cpu::Operand src, weights, dst;
  cpu::PlainView bias;

  bool has_bwd_data = false;
  dnnl::convolution_backward_data bwd_data;
  cpu::Operand bd_diff_dst, bd_weights, bd_diff_src;

  bool has_bwd_weights = false;
  dnnl::convolution_backward_weights bwd_weights;
  cpu::Operand bw_src, bw_diff_dst, bw_diff_weights;
  cpu::PlainView diff_bias;
};

Conv2d::Conv2d(std::string name, int in_channels, int out_channels, int kernel, int stride,
               int padding, bool bias)
    : Layer(std::move(name)),
      in_(in_channels),
      out_(out_channels),
      kernel_(kernel),
      stride_(stride),
      padding_(padding),
      has_bias_(bias) {
  if (in_ <= 0 || out_ <= 0 || kernel_ <= 0 || stride_ <= 0 || padding_ < 0) {
    throw std::invalid_argument(this->name() + ": conv2d needs positive channels, kernel and " +
                                "stride and a non-negative padding");
  }
  weight_.name = this->name() + ".weight";
  bias_.name = this->name() + ".bias";
  bias_.is_bias_or_norm = true;
}

Conv2d::~Conv2d() = default;

Shape Conv2d::output_shape(const Shape& input) const {
  if (input.size() != 4 || input[1] != in_) {
    throw std::invalid_argument(name() + ": conv2d expects input (N, " + std::to_string(in_) +
                                ", H, W), got " + to_string(input));
  }
  auto out_dim = [&](std::int64_t d) { return (d + 2 * padding_ - kernel_) / stride_ + 1; };
  if (input[2] + 2 * padding_ < kernel_ || input[3] + 2 * padding_ < kernel_) {
    throw std::invalid_argument(name() + ": input " + to_string(input) +
                                " is smaller than the kernel " + std::to_string(kernel_));
  }
  return {input[0], out_, out_dim(input[2]), out_dim(input[3])};
}

std::int64_t Conv2d::param_count() const {
  return std::int64_t(out_) * in_ * kernel_ * kernel_ + (has_bias_ ? out_ : 0);
}

double Conv2d::forward_flops(const Shape& input) const {
  const double outputs = double(numel(output_shape(input)));
  // One multiply-add (2 FLOPs) per weight per output, plus the bias add.
  return outputs * (2.0 * in_ * kernel_ * kernel_ + (has_bias_ ? 1 : 0));
}

void Conv2d::init(Rng& rng) {
  const Shape shape{out_, in_, kernel_, kernel_};
  weight_.value = Tensor(shape);
  weight_.grad = Tensor(shape);
  // kaiming_normal_(mode='fan_out', nonlinearity='relu'), as torchvision's
  // ResNet initialises its convolutions.
  std::normal_distribution<float> normal(0.0f, std::sqrt(2.0f / float(out_ * kernel_ * kernel_)));
  for (float& v : weight_.value.span()) v = normal(rng);
  if (has_bias_) {
    bias_.value = Tensor({out_});
    bias_.grad = Tensor({out_});
  }
}

std::vector<Param*> Conv2d::params() {
  if (has_bias_) return {&weight_, &bias_};
  return {&weight_};
}

std::unique_ptr<Conv2d::Plan> Conv2d::make_plan(const Shape& input, bool training) const {
  auto plan = std::make_unique<Plan>();
  plan->training = training;
  plan->in_shape = input;
  plan->out_shape = output_shape(input);
  const Shape w_shape{out_, in_, kernel_, kernel_};
  const memory::dims strides{stride_, stride_}, pad{padding_, padding_};
  const prop_kind prop = training ? prop_kind::forward_training : prop_kind::forward_inference;
  const auto src = cpu::any_desc(input), w = cpu::any_desc(w_shape);
  const auto dst = cpu::any_desc(plan->out_shape);
  using Fwd = dnnl::convolution_forward;
  const Fwd::desc desc =
      has_bias_ ? Fwd::desc(prop, algorithm::convolution_direct, src, w, cpu::plain_desc({out_}),
                            dst, strides, pad, pad)
                : Fwd::desc(prop, algorithm::convolution_direct, src, w, dst, strides, pad, pad);
  plan->fwd_pd = Fwd::primitive_desc(desc, cpu::engine());
  plan->fwd = Fwd(plan->fwd_pd);
  // Training keeps the reordered input for backward; evaluation does not.
  plan->src = cpu::Operand(cpu::plain_desc(input), plan->fwd_pd.src_desc(),
                           training ? cpu::Staging::owned : cpu::Staging::scratch1);
  plan->weights = cpu::Operand(cpu::plain_desc(w_shape), plan->fwd_pd.weights_desc());
  plan->dst = cpu::Operand(cpu::plain_desc(plan->out_shape), plan->fwd_pd.dst_desc(),
                           cpu::Staging::scratch0);
  if (has_bias_) plan->bias = cpu::PlainView({out_});
  return plan;
}

Tensor& Conv2d::forward_impl(const Tensor& x, const Context& ctx) {
  if (weight_.value.empty()) throw std::logic_error(name() + ": forward() before init()");
  current_ = nullptr;
  const bool training = ctx.mode == Mode::train;
  Plan& plan = plans_.get(cpu::plan_key(x.shape(), training),
                          [&] { return make_plan(x.shape(), training); });
  y_.reshape(plan.out_shape);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, plan.src.load(x.data())},
                                       {DNNL_ARG_WEIGHTS, plan.weights.load(weight_.value.data())},
                                       {DNNL_ARG_DST, plan.dst.bind(y_.data())}};
  if (has_bias_) args.emplace(DNNL_ARG_BIAS, plan.bias.at(bias_.value.data()));
  plan.fwd.execute(cpu::stream(), args);
  plan.dst.store();
  cpu::stream().wait();
  current_ = &plan;
  input_ = &x;
  return y_;
}

void Conv2d::backward_data(Plan& p, const Tensor& dy) {
  using Bwd = dnnl::convolution_backward_data;
  if (!p.has_bwd_data) {
    const memory::dims strides{stride_, stride_}, pad{padding_, padding_};
    const Bwd::desc desc(algorithm::convolution_direct, cpu::any_desc(p.in_shape),
                         cpu::any_desc(weight_.value.shape()), cpu::any_desc(p.out_shape), strides,
                         pad, pad);
    const Bwd::primitive_desc pd(desc, cpu::engine(), p.fwd_pd);
    p.bwd_data = Bwd(pd);
    p.bd_diff_dst =
        cpu::Operand(cpu::plain_desc(p.out_shape), pd.diff_dst_desc(), cpu::Staging::scratch0);
    p.bd_weights = cpu::Operand(cpu::plain_desc(weight_.value.shape()), pd.weights_desc());
    p.bd_diff_src =
        cpu::Operand(cpu::plain_desc(p.in_shape), pd.diff_src_desc(), cpu::Staging::scratch1);
    p.has_bwd_data = true;
  }
  dx_.reshape(p.in_shape);
  // The weights were reordered by forward() and have not changed since.
  const memory& w = p.bd_weights.desc() == p.weights.desc()
                        ? p.weights.memory()
                        : p.bd_weights.load(weight_.value.data());
  p.bwd_data.execute(cpu::stream(), {{DNNL_ARG_DIFF_DST, p.bd_diff_dst.load(dy.data())},
                                     {DNNL_ARG_WEIGHTS, w},
                                     {DNNL_ARG_DIFF_SRC, p.bd_diff_src.bind(dx_.data())}});
  p.bd_diff_src.store();
}

void Conv2d::backward_weights(Plan& p, const Tensor& dy) {
  using Bwd = dnnl::convolution_backward_weights;
  if (!p.has_bwd_weights) {
    const memory::dims strides{stride_, stride_}, pad{padding_, padding_};
    const auto src = cpu::any_desc(p.in_shape), w = cpu::any_desc(weight_.value.shape());
    const auto dst = cpu::any_desc(p.out_shape);
    const Bwd::desc desc =
        has_bias_ ? Bwd::desc(algorithm::convolution_direct, src, w, cpu::plain_desc({out_}), dst,
                              strides, pad, pad)
                  : Bwd::desc(algorithm::convolution_direct, src, w, dst, strides, pad, pad);
    const Bwd::primitive_desc pd(desc, cpu::engine(), p.fwd_pd);
    p.bwd_weights = Bwd(pd);
    // Transient: backward_data is done with both scratch slots by now.
    p.bw_src = cpu::Operand(cpu::plain_desc(p.in_shape), pd.src_desc(), cpu::Staging::scratch1);
    p.bw_diff_dst =
        cpu::Operand(cpu::plain_desc(p.out_shape), pd.diff_dst_desc(), cpu::Staging::scratch0);
    p.bw_diff_weights = cpu::Operand(cpu::plain_desc(weight_.grad.shape()), pd.diff_weights_desc());
    if (has_bias_) p.diff_bias = cpu::PlainView({out_});
    p.has_bwd_weights = true;
  }
  // Reuse the src forward() staged and the diff_dst backward_data() staged
  // when the layouts agree (they usually do), saving two reorders.
  const memory& src =
      p.bw_src.desc() == p.src.desc() ? p.src.memory() : p.bw_src.load(input_->data());
  const bool reuse_dy = needs_input_grad() && p.bw_diff_dst.desc() == p.bd_diff_dst.desc();
  const memory& ddst = reuse_dy ? p.bd_diff_dst.memory() : p.bw_diff_dst.load(dy.data());
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, src},
      {DNNL_ARG_DIFF_DST, ddst},
      {DNNL_ARG_DIFF_WEIGHTS, p.bw_diff_weights.bind(weight_.grad.data())}};
  if (has_bias_) args.emplace(DNNL_ARG_DIFF_BIAS, p.diff_bias.at(bias_.grad.data()));
  p.bwd_weights.execute(cpu::stream(), args);
  p.bw_diff_weights.store();
}

Tensor& Conv2d::backward_impl(const Tensor& dy, const Context& ctx) {
  cpu::check_backward(name(), current_ && current_->training,
                      current_ ? current_->out_shape : Shape{}, dy.shape());
  Plan& plan = *current_;
  if (needs_input_grad()) {
    backward_data(plan, dy);
  } else {
    dx_ = Tensor();  // the first layer's input (the images) needs no gradient
  }
  backward_weights(plan, dy);
  cpu::stream().wait();
  // In fp16 mode weight gradients are stored as half, as on a GPU.
  if (ctx.precision == Precision::fp16) {
    for (Param* p : params()) round_to_half(p->grad.span());
  }
  return dx_;
}

}  // namespace lb
