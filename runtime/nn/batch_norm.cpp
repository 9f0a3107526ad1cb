#include "runtime/nn/batch_norm.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "runtime/nn/onednn/context.hpp"

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
  // The fused ReLU's mask for backward, one per ghost group.
  std::vector<dnnl::memory> workspaces;
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
  prims_ = std::make_unique<Primitives>(Primitives{shape,
                                                   mode,
                                                   layout,
                                                   fwd_pd,
                                                   batch_normalization_forward(fwd_pd),
                                                   bwd_pd,
                                                   batch_normalization_backward(bwd_pd),
                                                   {}});
  return *prims_;
}

namespace {

// How many ghost groups a forward of n images splits into: more than one only
// in training with a ghost batch smaller than the batch.
std::int64_t ghost_groups(std::int64_t n, const Context& ctx, const std::string& layer) {
  const std::int64_t ghost = ctx.bn_ghost_batch;
  if (ctx.mode != Mode::train || ghost <= 0 || ghost >= n) return 1;
  if (n % ghost != 0) {
    throw std::invalid_argument(layer + ": a batch of " + std::to_string(n) +
                                " images does not split into ghost batches of " +
                                std::to_string(ghost));
  }
  return n / ghost;
}

// oneDNN memory at `data` described by `desc`; oneDNN never writes through
// an input argument, so the const_cast is safe there.
dnnl::memory view(const dnnl::memory::desc& desc, const float* data) {
  return dnnl::memory(desc, cpu::engine(), const_cast<float*>(data));
}

}  // namespace

Shape BatchNorm::group_shape(const Shape& batch) const {
  Shape shape = batch;
  shape[0] /= groups_;
  return shape;
}

BatchNorm::GroupStats BatchNorm::group_stats(std::int64_t g) {
  if (groups_ == 1) return {mean_.data(), var_.data()};
  return {group_mean_.data() + g * channels_, group_var_.data() + g * channels_};
}

Tensor& BatchNorm::forward_impl(const Tensor& x, const Context& ctx) {
  check_input(x.shape());
  if (gamma_.value.empty()) throw std::logic_error(name() + ": forward before init()");
  groups_ = ghost_groups(x.dim(0), ctx, name());
  const Shape shape = group_shape(x.shape());
  if (ctx.mode == Mode::train && numel(shape) / channels_ < 2) {
    // As PyTorch: the unbiased variance of one value is undefined.
    throw std::invalid_argument(name() + ": training needs more than one value per channel");
  }
  auto& p = primitives(shape, ctx.mode, x.layout());
  y_.reshape(x.shape(), x.layout());
  if (ctx.mode == Mode::eval) {
    std::copy_n(running_mean_.data(), channels_, mean_.data());
    std::copy_n(running_var_.data(), channels_, var_.data());
  }
  if (groups_ > 1) {
    group_mean_.reshape({groups_, channels_});
    group_var_.reshape({groups_, channels_});
  }
  if (fused_relu()) {
    // Each group's backward needs the mask its own forward recorded.
    while (std::int64_t(p.workspaces.size()) < groups_) {
      p.workspaces.emplace_back(p.fwd_pd.workspace_desc(), cpu::engine());
    }
  }
  const auto group_desc = cpu::desc_of(shape, x.layout());
  const auto stats_desc = cpu::desc_of({channels_}, Layout::plain);
  const std::int64_t group_size = numel(shape);
  for (std::int64_t g = 0; g < groups_; ++g) {
    const GroupStats stats = group_stats(g);
    std::unordered_map<int, dnnl::memory> args{
        {DNNL_ARG_SRC, view(group_desc, x.data() + g * group_size)},
        {DNNL_ARG_DST, view(group_desc, y_.data() + g * group_size)},
        {DNNL_ARG_MEAN, view(stats_desc, stats.mean)},
        {DNNL_ARG_VARIANCE, view(stats_desc, stats.var)},
        {DNNL_ARG_SCALE, cpu::wrap(gamma_.value)},
        {DNNL_ARG_SHIFT, cpu::wrap(beta_.value)}};
    if (fused_relu()) args.emplace(DNNL_ARG_WORKSPACE, p.workspaces[g]);
    p.fwd.execute(cpu::stream(), args);
  }
  cpu::stream().wait();
  if (groups_ > 1) combine_group_stats(groups_);
  if (fused_relu()) restore_nans();
  if (ctx.mode == Mode::train) update_running_stats(x.numel() / channels_);
  x_ = &x;
  last_mode_ = ctx.mode;
  return y_;
}

// The whole batch's mean and biased variance from equal-sized groups':
// the mean of the means, and the mean of the groups' second moments minus
// the squared mean. The running statistics (and Precise BatchNorm) then mean
// the same with or without ghost groups.
void BatchNorm::combine_group_stats(std::int64_t groups) {
  for (int c = 0; c < channels_; ++c) {
    double sum = 0, second_moment = 0;
    for (std::int64_t g = 0; g < groups; ++g) {
      const double m = group_mean_[g * channels_ + c];
      sum += m;
      second_moment += group_var_[g * channels_ + c] + m * m;
    }
    const double mean = sum / double(groups);
    mean_[c] = float(mean);
    const double var = second_moment / double(groups) - mean * mean;
    var_[c] = float(var < 0 ? 0.0 : var);  // rounding can make it slightly negative; NaN stays
  }
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
  const Shape shape = group_shape(x_->shape());
  auto& p = primitives(shape, last_mode_, x_->layout());
  Tensor& dx = input_grad(x_->shape(), x_->layout());
  const Tensor& dy_in_layout = in_layout(dy, x_->layout(), dy_converted_);
  if (groups_ > 1) group_grad_.reshape({2, channels_});
  const auto group_desc = cpu::desc_of(shape, x_->layout());
  const auto stats_desc = cpu::desc_of({channels_}, Layout::plain);
  const std::int64_t group_size = numel(shape);
  for (std::int64_t g = 0; g < groups_; ++g) {
    const bool first = g == 0;
    const GroupStats stats = group_stats(g);
    // The first group writes γ's and β's gradients, later ones a scratch
    // that is added to them.
    float* dgamma = first ? gamma_.grad.data() : group_grad_.data();
    float* dbeta = first ? beta_.grad.data() : group_grad_.data() + channels_;
    std::unordered_map<int, dnnl::memory> args{
        {DNNL_ARG_SRC, view(group_desc, x_->data() + g * group_size)},
        {DNNL_ARG_DIFF_DST, view(group_desc, dy_in_layout.data() + g * group_size)},
        {DNNL_ARG_MEAN, view(stats_desc, stats.mean)},
        {DNNL_ARG_VARIANCE, view(stats_desc, stats.var)},
        {DNNL_ARG_SCALE, cpu::wrap(gamma_.value)},
        {DNNL_ARG_SHIFT, cpu::wrap(beta_.value)},
        {DNNL_ARG_DIFF_SRC, view(group_desc, dx.data() + g * group_size)},
        {DNNL_ARG_DIFF_SCALE, view(stats_desc, dgamma)},
        {DNNL_ARG_DIFF_SHIFT, view(stats_desc, dbeta)}};
    if (fused_relu()) args.emplace(DNNL_ARG_WORKSPACE, p.workspaces[g]);
    p.bwd.execute(cpu::stream(), args);
    cpu::stream().wait();
    if (first) continue;
    for (int c = 0; c < channels_; ++c) {
      gamma_.grad[c] += dgamma[c];
      beta_.grad[c] += dbeta[c];
    }
  }
  return dx;
}

}  // namespace lb
