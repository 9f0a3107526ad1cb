#include "runtime/nn/weighted_layer.hpp"

#include <stdexcept>
#include <unordered_map>

#include "runtime/core/half.hpp"
#include "runtime/nn/onednn/operand.hpp"
#include "runtime/nn/onednn/weighted_primitive.hpp"

namespace lb {

using dnnl::memory;

// Everything oneDNN needs for one input shape and mode. Backward primitives
// are built on the first backward() so evaluation-only plans never pay for
// them. Only the training input and the weights keep staging buffers of their
// own; outputs and gradients are staged in the shared scratch (see Operand),
// and operands that reuse another's data (bwd_data weights, bwd_weights
// src/diff_dst) never allocate any.
struct WeightedLayer::Plan {
  bool training = false;
  Shape in_shape, out_shape;
  dnnl::primitive fwd;
  cpu::Operand src, weights, dst;
  cpu::PlainView bias;

  bool has_bwd_data = false;
  dnnl::primitive bwd_data;
  cpu::Operand bd_diff_dst, bd_weights, bd_diff_src;

  bool has_bwd_weights = false;
  dnnl::primitive bwd_weights;
  cpu::Operand bw_src, bw_diff_dst, bw_diff_weights;
  cpu::PlainView diff_bias;
};

WeightedLayer::WeightedLayer(std::string name, bool bias)
    : Layer(std::move(name)), has_bias_(bias) {
  weight_.name = this->name() + ".weight";
  bias_.name = this->name() + ".bias";
  bias_.is_bias_or_norm = true;
}

WeightedLayer::~WeightedLayer() = default;

std::vector<Param*> WeightedLayer::params() {
  if (has_bias_) return {&weight_, &bias_};
  return {&weight_};
}

void WeightedLayer::allocate(const Shape& weight_shape, std::int64_t bias_size) {
  weight_.value = Tensor(weight_shape);
  weight_.grad = Tensor(weight_shape);
  if (has_bias_) {
    bias_.value = Tensor({bias_size});
    bias_.grad = Tensor({bias_size});
  }
}

namespace {

std::string implementation_of(const dnnl::primitive& p) {
  const char* info = nullptr;
  dnnl_primitive_desc_query(p.get_primitive_desc(), dnnl_query_impl_info_str, 0, &info);
  return info ? info : "";
}

}  // namespace

std::vector<std::string> WeightedLayer::implementations() const {
  if (!current_) return {"", "", ""};
  const Plan& p = *current_;
  return {implementation_of(p.fwd), p.has_bwd_data ? implementation_of(p.bwd_data) : "",
          p.has_bwd_weights ? implementation_of(p.bwd_weights) : ""};
}

std::unique_ptr<WeightedLayer::Plan> WeightedLayer::make_plan(const Shape& input,
                                                              bool training) const {
  auto plan = std::make_unique<Plan>();
  plan->training = training;
  plan->in_shape = input;
  plan->out_shape = output_shape(input);
  Built fwd = build_forward(input, training);
  plan->fwd = fwd.primitive;
  // Training keeps a reordered input for backward; evaluation does not.
  plan->src =
      cpu::Operand(fwd.a, input, training ? cpu::Staging::owned : cpu::Staging::scratch1, true);
  plan->weights = cpu::Operand(fwd.b, weight_.value.shape(), cpu::Staging::owned, false);
  plan->dst = cpu::Operand(fwd.c, plan->out_shape, cpu::Staging::scratch0, true);
  if (has_bias_) plan->bias = cpu::PlainView(bias_.value.shape());
  return plan;
}

Tensor& WeightedLayer::forward_impl(const Tensor& x, const Context& ctx) {
  if (weight_.value.empty()) throw std::logic_error(name() + ": forward() before init()");
  current_ = nullptr;
  const bool training = ctx.mode == Mode::train;
  Plan& plan = plans_.get(cpu::plan_key(x.shape(), training),
                          [&] { return make_plan(x.shape(), training); });
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, plan.src.load(x)},
                                       {DNNL_ARG_WEIGHTS, plan.weights.load(weight_.value)},
                                       {DNNL_ARG_DST, plan.dst.bind(y_)}};
  if (has_bias_) args.emplace(DNNL_ARG_BIAS, plan.bias.at(bias_.value.data()));
  plan.fwd.execute(cpu::stream(), args);
  plan.dst.store();
  cpu::stream().wait();
  current_ = &plan;
  input_ = &x;
  return y_;
}

Tensor& WeightedLayer::backward_data(Plan& p, const Tensor& dy) {
  if (!p.has_bwd_data) {
    Built bd = build_backward_data(p.in_shape);
    p.bwd_data = bd.primitive;
    p.bd_diff_dst = cpu::Operand(bd.a, p.out_shape, cpu::Staging::scratch0, true);
    p.bd_weights = cpu::Operand(bd.b, weight_.value.shape(), cpu::Staging::owned, false);
    p.bd_diff_src = cpu::Operand(bd.c, p.in_shape, cpu::Staging::scratch1, true);
    p.has_bwd_data = true;
  }
  // The weights were brought into layout by forward() and have not changed.
  const memory& w = p.bd_weights.desc() == p.weights.desc() ? p.weights.memory()
                                                            : p.bd_weights.load(weight_.value);
  Tensor& dx = input_grad(p.in_shape);  // bind() gives it the chosen layout
  p.bwd_data.execute(cpu::stream(), {{DNNL_ARG_DIFF_DST, p.bd_diff_dst.load(dy)},
                                     {DNNL_ARG_WEIGHTS, w},
                                     {DNNL_ARG_DIFF_SRC, p.bd_diff_src.bind(dx)}});
  p.bd_diff_src.store();
  return dx;
}

void WeightedLayer::backward_weights(Plan& p, const Tensor& dy) {
  if (!p.has_bwd_weights) {
    Built bw = build_backward_weights(p.in_shape);
    p.bwd_weights = bw.primitive;
    // Transient: backward_data is done with both scratch slots by now.
    p.bw_src = cpu::Operand(bw.a, p.in_shape, cpu::Staging::scratch1, true);
    p.bw_diff_dst = cpu::Operand(bw.b, p.out_shape, cpu::Staging::scratch0, true);
    p.bw_diff_weights = cpu::Operand(bw.c, weight_.grad.shape(), cpu::Staging::owned, false);
    if (has_bias_) p.diff_bias = cpu::PlainView(bias_.grad.shape());
    p.has_bwd_weights = true;
  }
  // Reuse the src forward() loaded and the diff_dst backward_data() loaded
  // when the layouts agree (they usually do), saving two reorders.
  const memory& src = p.bw_src.desc() == p.src.desc() ? p.src.memory() : p.bw_src.load(*input_);
  const bool reuse_dy = needs_input_grad() && p.bw_diff_dst.desc() == p.bd_diff_dst.desc();
  const memory& ddst = reuse_dy ? p.bd_diff_dst.memory() : p.bw_diff_dst.load(dy);
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, src},
      {DNNL_ARG_DIFF_DST, ddst},
      {DNNL_ARG_DIFF_WEIGHTS, p.bw_diff_weights.bind(weight_.grad)}};
  if (has_bias_) args.emplace(DNNL_ARG_DIFF_BIAS, p.diff_bias.at(bias_.grad.data()));
  p.bwd_weights.execute(cpu::stream(), args);
  p.bw_diff_weights.store();
}

Tensor& WeightedLayer::backward_impl(const Tensor& dy, const Context& ctx) {
  cpu::check_backward(name(), current_ && current_->training,
                      current_ ? current_->out_shape : Shape{}, dy.shape());
  Plan& plan = *current_;
  // The first layer's input (the images) needs no gradient.
  Tensor& dx = needs_input_grad() ? backward_data(plan, dy) : no_input_grad();
  backward_weights(plan, dy);
  cpu::stream().wait();
  // In fp16 mode weight gradients are stored as half, as on a GPU.
  if (ctx.precision == Precision::fp16) {
    for (Param* p : params()) round_to_half(p->grad.span());
  }
  return dx;
}

}  // namespace lb
