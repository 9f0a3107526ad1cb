#include "runtime/nn/linear.hpp"

#include <cmath>
#include <random>
#include <stdexcept>
#include <unordered_map>

#include "runtime/core/half.hpp"

namespace lb {

using dnnl::memory;
using dnnl::prop_kind;

// Everything oneDNN needs for one input shape and mode; backward primitives
// are built on the first backward(). The layouts are oneDNN's choice
// (format_tag::any); for 2-D tensors that is normally the plain one, in which
// case no staging memory is ever allocated.
struct Linear::Plan {
  bool training = false;
  Shape in_shape, out_shape;
  dnnl::inner_product_forward::primitive_desc fwd_pd;
  dnnl::inner_product_forward fwd;
  cpu::Operand src, weights, dst;
  cpu::PlainView bias;

  bool has_bwd_data = false;
  dnnl::inner_product_backward_data bwd_data;
  cpu::Operand bd_diff_dst, bd_weights, bd_diff_src;

  bool has_bwd_weights = false;
  dnnl::inner_product_backward_weights bwd_weights;
  cpu::Operand bw_src, bw_diff_dst, bw_diff_weights;
  cpu::PlainView diff_bias;
};

Linear::Linear(std::string name, int in_features, int out_features, bool bias)
    : Layer(std::move(name)), in_(in_features), out_(out_features), has_bias_(bias) {
  if (in_ <= 0 || out_ <= 0) {
    throw std::invalid_argument(this->name() + ": linear needs positive feature counts");
  }
  weight_.name = this->name() + ".weight";
  bias_.name = this->name() + ".bias";
  bias_.is_bias_or_norm = true;
}

Linear::~Linear() = default;

Shape Linear::output_shape(const Shape& input) const {
  if (input.size() != 2 || input[1] != in_) {
    throw std::invalid_argument(name() + ": linear expects input (N, " + std::to_string(in_) +
                                "), got " + to_string(input));
  }
  return {input[0], out_};
}

std::int64_t Linear::param_count() const {
  return std::int64_t(out_) * in_ + (has_bias_ ? out_ : 0);
}

double Linear::forward_flops(const Shape& input) const {
  const double outputs = double(numel(output_shape(input)));
  return outputs * (2.0 * in_ + (has_bias_ ? 1 : 0));  // multiply-adds plus the bias add
}

void Linear::init(Rng& rng) {
  weight_.value = Tensor({out_, in_});
  weight_.grad = Tensor({out_, in_});
  // nn.Linear's reset_parameters(): kaiming_uniform_(a=√5) reduces to this bound.
  const float bound = 1.0f / std::sqrt(float(in_));
  std::uniform_real_distribution<float> uniform(-bound, bound);
  for (float& v : weight_.value.span()) v = uniform(rng);
  if (has_bias_) {
    bias_.value = Tensor({out_});
    bias_.grad = Tensor({out_});
    for (float& v : bias_.value.span()) v = uniform(rng);
  }
}

std::vector<Param*> Linear::params() {
  if (has_bias_) return {&weight_, &bias_};
  return {&weight_};
}

std::unique_ptr<Linear::Plan> Linear::make_plan(const Shape& input, bool training) const {
  auto plan = std::make_unique<Plan>();
  plan->training = training;
  plan->in_shape = input;
  plan->out_shape = output_shape(input);
  const Shape w_shape{out_, in_};
  const prop_kind prop = training ? prop_kind::forward_training : prop_kind::forward_inference;
  const auto src = cpu::any_desc(input), w = cpu::any_desc(w_shape);
  const auto dst = cpu::any_desc(plan->out_shape);
  using Fwd = dnnl::inner_product_forward;
  const Fwd::desc desc = has_bias_ ? Fwd::desc(prop, src, w, cpu::plain_desc({out_}), dst)
                                   : Fwd::desc(prop, src, w, dst);
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

Tensor& Linear::forward_impl(const Tensor& x, const Context& ctx) {
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

void Linear::backward_data(Plan& p, const Tensor& dy) {
  using Bwd = dnnl::inner_product_backward_data;
  if (!p.has_bwd_data) {
    const Bwd::desc desc(cpu::any_desc(p.in_shape), cpu::any_desc(weight_.value.shape()),
                         cpu::any_desc(p.out_shape));
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
  // The weights were brought into layout by forward() and have not changed.
  const memory& w = p.bd_weights.desc() == p.weights.desc()
                        ? p.weights.memory()
                        : p.bd_weights.load(weight_.value.data());
  p.bwd_data.execute(cpu::stream(), {{DNNL_ARG_DIFF_DST, p.bd_diff_dst.load(dy.data())},
                                     {DNNL_ARG_WEIGHTS, w},
                                     {DNNL_ARG_DIFF_SRC, p.bd_diff_src.bind(dx_.data())}});
  p.bd_diff_src.store();
}

void Linear::backward_weights(Plan& p, const Tensor& dy) {
  using Bwd = dnnl::inner_product_backward_weights;
  if (!p.has_bwd_weights) {
    const auto src = cpu::any_desc(p.in_shape), w = cpu::any_desc(weight_.value.shape());
    const auto dst = cpu::any_desc(p.out_shape);
    const Bwd::desc desc =
        has_bias_ ? Bwd::desc(src, w, cpu::plain_desc({out_}), dst) : Bwd::desc(src, w, dst);
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

Tensor& Linear::backward_impl(const Tensor& dy, const Context& ctx) {
  cpu::check_backward(name(), current_ && current_->training,
                      current_ ? current_->out_shape : Shape{}, dy.shape());
  Plan& plan = *current_;
  if (needs_input_grad()) {
    backward_data(plan, dy);
  } else {
    dx_ = Tensor();
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
