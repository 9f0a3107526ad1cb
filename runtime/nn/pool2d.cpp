#include "runtime/nn/pool2d.hpp"

#include <stdexcept>
#include <unordered_map>

#include "runtime/nn/onednn/operand.hpp"

namespace lb {

using dnnl::memory;
using dnnl::prop_kind;

namespace {

// Average pooling excludes the padding (see AvgPool2d).
dnnl::algorithm algorithm_of(PoolKind kind) {
  return kind == PoolKind::max ? dnnl::algorithm::pooling_max
                               : dnnl::algorithm::pooling_avg_exclude_padding;
}

}  // namespace

// Everything oneDNN needs for one input shape, mode and layout. Pooling runs
// in its input's layout (channels are independent) and its output and input
// gradient take that layout. Max pooling in training keeps a workspace (the
// argmax of each window) for backward.
struct Pool2d::Plan {
  bool training = false;
  Layout layout = Layout::plain;
  Shape in_shape, out_shape;
  dnnl::pooling_forward::primitive_desc fwd_pd;
  dnnl::pooling_forward fwd;
  dnnl::memory src, dst;
  memory workspace;  // empty unless training max pooling

  bool has_bwd = false;
  dnnl::pooling_backward bwd;
  dnnl::memory diff_dst, diff_src;
};

Pool2d::Pool2d(std::string name, int kernel, int stride, int padding, PoolKind kind)
    : Layer(std::move(name)), kernel_(kernel), stride_(stride), padding_(padding), kind_(kind) {
  if (kernel_ <= 0 || stride_ <= 0 || padding_ < 0) {
    throw std::invalid_argument(this->name() +
                                ": pooling needs a positive kernel and stride and a "
                                "non-negative padding");
  }
  // PyTorch's rule; it also keeps every window overlapping the input.
  if (2 * padding_ > kernel_) {
    throw std::invalid_argument(this->name() + ": pooling padding " + std::to_string(padding_) +
                                " exceeds half the kernel " + std::to_string(kernel_));
  }
}

Pool2d::~Pool2d() = default;

Shape Pool2d::output_shape(const Shape& input) const {
  if (input.size() != 4) {
    throw std::invalid_argument(name() + ": pooling expects input (N, C, H, W), got " +
                                to_string(input));
  }
  if (input[2] + 2 * padding_ < kernel_ || input[3] + 2 * padding_ < kernel_) {
    throw std::invalid_argument(name() + ": input " + to_string(input) +
                                " is smaller than the pooling window " + std::to_string(kernel_));
  }
  auto out_dim = [&](std::int64_t d) { return (d + 2 * padding_ - kernel_) / stride_ + 1; };
  return {input[0], input[1], out_dim(input[2]), out_dim(input[3])};
}

double Pool2d::forward_flops(const Shape& input) const {
  return double(numel(output_shape(input))) * kernel_ * kernel_;
}

std::unique_ptr<Pool2d::Plan> Pool2d::make_plan(const Shape& input, bool training,
                                                Layout layout) const {
  auto plan = std::make_unique<Plan>();
  plan->training = training;
  plan->layout = layout;
  plan->in_shape = input;
  plan->out_shape = output_shape(input);
  const memory::dims strides{stride_, stride_}, window{kernel_, kernel_};
  const memory::dims pad{padding_, padding_};
  const prop_kind prop = training ? prop_kind::forward_training : prop_kind::forward_inference;
  const auto src = cpu::desc_of(input, layout), dst = cpu::desc_of(plan->out_shape, layout);
  const dnnl::pooling_forward::desc desc(prop, algorithm_of(kind_), src, dst, strides, window, pad,
                                         pad);
  plan->fwd_pd = dnnl::pooling_forward::primitive_desc(desc, cpu::engine());
  plan->fwd = dnnl::pooling_forward(plan->fwd_pd);
  plan->src = memory(src, cpu::engine(), DNNL_MEMORY_NONE);
  plan->dst = memory(dst, cpu::engine(), DNNL_MEMORY_NONE);
  const memory::desc ws = plan->fwd_pd.workspace_desc();
  if (ws.get_size() > 0) plan->workspace = memory(ws, cpu::engine());
  return plan;
}

void Pool2d::build_backward(Plan& p) const {
  const memory::dims strides{stride_, stride_}, window{kernel_, kernel_};
  const memory::dims pad{padding_, padding_};
  const auto src = cpu::desc_of(p.in_shape, p.layout), dst = cpu::desc_of(p.out_shape, p.layout);
  const dnnl::pooling_backward::desc desc(algorithm_of(kind_), src, dst, strides, window, pad, pad);
  p.bwd =
      dnnl::pooling_backward(dnnl::pooling_backward::primitive_desc(desc, cpu::engine(), p.fwd_pd));
  p.diff_dst = memory(dst, cpu::engine(), DNNL_MEMORY_NONE);
  p.diff_src = memory(src, cpu::engine(), DNNL_MEMORY_NONE);
  p.has_bwd = true;
}

Tensor& Pool2d::forward_impl(const Tensor& x, const Context& ctx) {
  current_ = nullptr;
  const bool training = ctx.mode == Mode::train;
  Plan& plan = plans_.get(cpu::plan_key(x.shape(), training, x.layout()),
                          [&] { return make_plan(x.shape(), training, x.layout()); });
  y_.reshape(plan.out_shape, plan.layout);
  plan.src.set_data_handle(const_cast<float*>(x.data()));  // only read
  plan.dst.set_data_handle(y_.data());
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, plan.src}, {DNNL_ARG_DST, plan.dst}};
  if (plan.workspace) args.emplace(DNNL_ARG_WORKSPACE, plan.workspace);
  plan.fwd.execute(cpu::stream(), args);
  cpu::stream().wait();
  current_ = &plan;
  return y_;
}

Tensor& Pool2d::backward_impl(const Tensor& dy, const Context& ctx) {
  cpu::check_backward(name(), current_ && current_->training,
                      current_ ? current_->out_shape : Shape{}, dy.shape());
  if (!needs_input_grad()) {  // no parameters, so nothing else to compute
    return no_input_grad();
  }
  Plan& plan = *current_;
  if (!plan.has_bwd) build_backward(plan);
  Tensor& dx = input_grad(plan.in_shape, plan.layout);
  const Tensor& g = in_layout(dy, plan.layout, dy_converted_);
  plan.diff_dst.set_data_handle(const_cast<float*>(g.data()));  // only read
  plan.diff_src.set_data_handle(dx.data());
  std::unordered_map<int, memory> args{{DNNL_ARG_DIFF_DST, plan.diff_dst},
                                       {DNNL_ARG_DIFF_SRC, plan.diff_src}};
  if (plan.workspace) args.emplace(DNNL_ARG_WORKSPACE, plan.workspace);
  plan.bwd.execute(cpu::stream(), args);
  cpu::stream().wait();
  return dx;
}

}  // namespace lb
