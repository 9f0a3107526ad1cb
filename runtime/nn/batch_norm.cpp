#include "runtime/nn/batch_norm.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <stdexcept>
#include <unordered_map>

#include "runtime/backends/cpu/dnnl_context.hpp"

namespace lb {

using dnnl::batch_normalization_backward;
using dnnl::batch_normalization_forward;
using dnnl::normalization_flags;
using dnnl::prop_kind;

struct BatchNorm::Primitives {
  Shape shape;
  Mode mode;
  Layout layout;
  batch_normalization_forward::primitive_desc fwd_pd;
  batch_normalization_forward fwd;
  batch_normalization_backward::primitive_desc bwd_pd;
  batch_normalization_backward bwd;
  dnnl::memory workspace;  // the fused ReLU's mask, for backward
};

BatchNorm::BatchNorm(std::string name, int channels, double momentum, double epsilon,
                     bool zero_init_gamma)
    : Layer(std::move(name)),
      channels_(channels),
      momentum_(momentum),
      epsilon_(epsilon),
      zero_init_gamma_(zero_init_gamma) {
  if (channels <= 0) throw std::invalid_argument(this->name() + ": channels must be positive");
  if (momentum < 0 || momentum > 1) throw std::invalid_argument(this->name() + ": bad momentum");
  if (epsilon <= 0) throw std::invalid_argument(this->name() + ": epsilon must be positive");
  for (Param* p : {&gamma_, &beta_}) {
    p->is_bias_or_norm = true;
    p->half_storage = false;
  }
  gamma_.name = this->name() + ".weight";
  beta_.name = this->name() + ".bias";
}

BatchNorm::~BatchNorm() = default;

void BatchNorm::check_input(const Shape& shape) const {
  if ((shape.size() != 2 && shape.size() != 4) || shape[1] != channels_) {
    throw std::invalid_argument(name() + ": expected (N, " + std::to_string(channels_) +
                                ", H, W) or (N, " + std::to_string(channels_) + "), got " +
                                to_string(shape));
  }
}

Shape BatchNorm::output_shape(const Shape& input) const {
  check_input(input);
  return input;
}

double BatchNorm::forward_flops(const Shape& input) const {
  return 6.0 * static_cast<double>(numel(input));
}

void BatchNorm::init(Rng& /*rng*/) {
  const Shape c{channels_};
  gamma_.value = Tensor(c, zero_init_gamma_ ? 0.0f : 1.0f);
  gamma_.grad = Tensor(c);
  beta_.value = Tensor(c);
  beta_.grad = Tensor(c);
  running_mean_ = Tensor(c, 0.0f);
  running_var_ = Tensor(c, 1.0f);
  mean_ = Tensor(c);
  var_ = Tensor(c);
}

BatchNorm& BatchNorm::fuse_relu(std::string relu_name) {
  relu_name_ = std::move(relu_name);
  return *this;
}

void BatchNorm::describe(const Shape& input, std::vector<LayerInfo>& rows) const {
  Layer::describe(input, rows);
  // As the ReLU layer it replaces: one comparison per element.
  if (fused_relu()) rows.push_back({relu_name_, "relu", input, 0, double(numel(input))});
}

BatchNorm::Primitives& BatchNorm::primitives(const Shape& shape, Mode mode, Layout layout) {
  if (prims_ && prims_->shape == shape && prims_->mode == mode && prims_->layout == layout) {
    return *prims_;
  }
  const auto md = cpu::desc_of(shape, layout);
  const auto eps = static_cast<float>(epsilon_);
  auto flags = normalization_flags::use_scale | normalization_flags::use_shift;
  // Eval mode normalises with the running statistics, given as inputs.
  if (mode == Mode::eval) flags |= normalization_flags::use_global_stats;
  if (fused_relu()) flags |= normalization_flags::fuse_norm_relu;
  // A fused ReLU's backward needs the mask that only training forward
  // records, so a fused layer uses it in eval mode too (with the running
  // statistics, so the output is the same).
  const bool training = mode == Mode::train || fused_relu();
  const auto fwd_kind = training ? prop_kind::forward_training : prop_kind::forward_inference;
  auto& engine = cpu::engine();
  batch_normalization_forward::primitive_desc fwd_pd({fwd_kind, md, eps, flags}, engine);
  batch_normalization_backward::primitive_desc bwd_pd({prop_kind::backward, md, md, eps, flags},
                                                      engine, fwd_pd);
  prims_ = std::make_unique<Primitives>(Primitives{shape, mode, layout, fwd_pd,
                                                   batch_normalization_forward(fwd_pd), bwd_pd,
                                                   batch_normalization_backward(bwd_pd), {}});
  if (fused_relu()) prims_->workspace = dnnl::memory(fwd_pd.workspace_desc(), engine);
  return *prims_;
}

Tensor& BatchNorm::forward_impl(const Tensor& x, const Context& ctx) {
  check_input(x.shape());
  if (gamma_.value.empty()) throw std::logic_error(name() + ": forward before init()");
  const std::int64_t per_channel = x.numel() / channels_;
  if (ctx.mode == Mode::train && per_channel < 2) {
    // As PyTorch: the unbiased variance of one value is undefined.
    throw std::invalid_argument(name() + ": training needs more than one value per channel");
  }
  auto& p = primitives(x.shape(), ctx.mode, x.layout());
  y_.reshape(x.shape(), x.layout());
  if (ctx.mode == Mode::eval) {
    std::copy_n(running_mean_.data(), channels_, mean_.data());
    std::copy_n(running_var_.data(), channels_, var_.data());
  }
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, cpu::wrap(x)},
                                             {DNNL_ARG_DST, cpu::wrap(y_)},
                                             {DNNL_ARG_MEAN, cpu::wrap(mean_)},
                                             {DNNL_ARG_VARIANCE, cpu::wrap(var_)},
                                             {DNNL_ARG_SCALE, cpu::wrap(gamma_.value)},
                                             {DNNL_ARG_SHIFT, cpu::wrap(beta_.value)}};
  if (p.workspace) args.emplace(DNNL_ARG_WORKSPACE, p.workspace);
  p.fwd.execute(cpu::stream(), args);
  cpu::stream().wait();
  if (fused_relu()) restore_nans();
  if (ctx.mode == Mode::train) update_running_stats(per_channel);
  x_ = &x;
  last_mode_ = ctx.mode;
  return y_;
}

// oneDNN's fused ReLU turns NaN into 0, where the ReLU layer keeps it (so
// fp16 overflow stays visible to the loss scaler). A NaN or inf anywhere in a
// channel makes its batch statistics non-finite, and then every output of the
// channel is NaN before the ReLU: put those NaNs back. Costs a check of C
// values unless something overflowed.
void BatchNorm::restore_nans() {
  const int block = channel_block(y_.layout());
  const std::int64_t n = y_.dim(0), area = y_.numel() / (n * channels_);
  for (int c = 0; c < channels_; ++c) {
    const float parts[] = {mean_[c], var_[c], gamma_.value[c], beta_.value[c]};
    if (std::all_of(std::begin(parts), std::end(parts), [](float v) { return std::isfinite(v); })) {
      continue;
    }
    const std::int64_t group = c / block, lane = c % block;
    for (std::int64_t i = 0; i < n; ++i) {
      float* slab = y_.data() + (i * channels_ + group * block) * area;
      for (std::int64_t p = 0; p < area; ++p) slab[p * block + lane] = std::nanf("");
    }
  }
}

// PyTorch's convention: running = (1 - momentum) * running + momentum * batch,
// with the unbiased variance in running_var. While recalibrating, the k-th
// batch gets weight 1/k: a running plain average.
void BatchNorm::update_running_stats(std::int64_t per_channel) {
  const double unbias = double(per_channel) / double(per_channel - 1);
  const double m = recalibrating_ ? 1.0 / double(++recalibration_batches_) : momentum_;
  for (int c = 0; c < channels_; ++c) {
    running_mean_[c] = float((1 - m) * running_mean_[c] + m * mean_[c]);
    running_var_[c] = float((1 - m) * running_var_[c] + m * var_[c] * unbias);
  }
}

Tensor& BatchNorm::backward_impl(const Tensor& dy, const Context& ctx) {
  if (x_ == nullptr) throw std::logic_error(name() + ": backward before forward");
  if (dy.shape() != x_->shape()) {
    throw std::invalid_argument(name() + ": gradient shape " + to_string(dy.shape()) +
                                " does not match input " + to_string(x_->shape()));
  }
  auto& p = primitives(x_->shape(), last_mode_, x_->layout());
  Tensor& dx = input_grad(x_->shape(), x_->layout());
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, cpu::wrap(*x_)},
      {DNNL_ARG_DIFF_DST, cpu::wrap(in_layout(dy, x_->layout(), dy_converted_))},
      {DNNL_ARG_MEAN, cpu::wrap(mean_)},
      {DNNL_ARG_VARIANCE, cpu::wrap(var_)},
      {DNNL_ARG_SCALE, cpu::wrap(gamma_.value)},
      {DNNL_ARG_SHIFT, cpu::wrap(beta_.value)},
      {DNNL_ARG_DIFF_SRC, cpu::wrap(dx)},
      {DNNL_ARG_DIFF_SCALE, cpu::wrap(gamma_.grad)},
      {DNNL_ARG_DIFF_SHIFT, cpu::wrap(beta_.grad)}};
  if (p.workspace) args.emplace(DNNL_ARG_WORKSPACE, p.workspace);
  p.bwd.execute(cpu::stream(), args);
  cpu::stream().wait();
  return dx;
}

}  // namespace lb
