#include "runtime/nn/residual.hpp"

#include <algorithm>
#include <stdexcept>

#include "runtime/nn/gradient_pool.hpp"
#include "runtime/nn/half_rounding.hpp"

namespace lb {
namespace {
using Clock = std::chrono::steady_clock;
}  // namespace

Residual::Residual(std::string name, std::unique_ptr<Layer> branch, std::unique_ptr<Layer> shortcut,
                   bool relu_after)
    : Layer(std::move(name)),
      branch_(std::move(branch)),
      shortcut_(std::move(shortcut)),
      relu_after_(relu_after) {
  if (!branch_) throw std::invalid_argument(this->name() + ": the branch must not be null");
}

Shape Residual::output_shape(const Shape& input) const {
  const Shape b = branch_->output_shape(input);
  const Shape s = shortcut_ ? shortcut_->output_shape(input) : input;
  if (b != s) {
    throw std::invalid_argument(name() + ": branch output " + to_string(b) +
                                " does not match shortcut output " + to_string(s));
  }
  return b;
}

std::int64_t Residual::param_count() const {
  return branch_->param_count() + (shortcut_ ? shortcut_->param_count() : 0);
}

double Residual::forward_flops(const Shape& input) const {
  double flops = branch_->forward_flops(input) + static_cast<double>(numel(output_shape(input)));
  if (shortcut_) flops += shortcut_->forward_flops(input);
  return flops;
}

void Residual::init(Rng& rng) {
  branch_->init(rng);
  if (shortcut_) shortcut_->init(rng);
}

std::vector<Param*> Residual::params() {
  auto all = branch_->params();
  if (shortcut_) {
    auto s = shortcut_->params();
    all.insert(all.end(), s.begin(), s.end());
  }
  return all;
}

std::vector<Tensor*> Residual::buffers() {
  auto all = branch_->buffers();
  if (shortcut_) {
    auto s = shortcut_->buffers();
    all.insert(all.end(), s.begin(), s.end());
  }
  return all;
}

void Residual::describe(const Shape& input, std::vector<LayerInfo>& rows) const {
  const Shape out = output_shape(input);
  branch_->describe(input, rows);
  if (shortcut_) shortcut_->describe(input, rows);
  rows.push_back({name() + ".add", "add", out, 0, static_cast<double>(numel(out))});
}

void Residual::set_needs_input_grad(bool needed) {
  Layer::set_needs_input_grad(needed);
  branch_->set_needs_input_grad(needed);
  if (shortcut_) shortcut_->set_needs_input_grad(needed);
}

namespace {

// out = a + b, then ReLU when `relu` (a NaN stays NaN, as in ReLU). All three
// share one layout, so the element-wise loop ignores it.
void add(const Tensor& a, const Tensor& b, bool relu, Tensor& out) {
  out.reshape(a.shape(), a.layout());
  const std::int64_t n = out.numel();
  const float* pa = a.data();
  const float* pb = b.data();
  float* po = out.data();
  if (relu) {
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
    for (std::int64_t i = 0; i < n; ++i) {
      const float v = pa[i] + pb[i];
      po[i] = v < 0.0f ? 0.0f : v;
    }
  } else {
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
    for (std::int64_t i = 0; i < n; ++i) po[i] = pa[i] + pb[i];
  }
}

}  // namespace

Tensor& Residual::forward_impl(const Tensor& x, const Context& ctx) {
  const Tensor& b = branch_->forward_native(x, ctx);
  const Tensor& s = shortcut_ ? shortcut_->forward_native(x, ctx) : x;
  if (b.shape() != s.shape()) {
    throw std::invalid_argument(name() + ": branch output " + to_string(b.shape()) +
                                " does not match shortcut output " + to_string(s.shape()));
  }
  // The paths normally agree on a layout; the output takes the branch's.
  const auto begin = ctx.observer ? Clock::now() : Clock::time_point{};
  add(b, in_layout(s, b.layout(), converted_), relu_after_, y_);
  if (ctx.precision == Precision::fp16) round_to_half_parallel(y_.span());
  // A composite that does work of its own reports it (the "<name>.add" row of
  // the cost table), so that profiles account for it.
  if (ctx.observer) ctx.observer->forward_done(*this, begin, Clock::now());
  return y_;
}

// dsum = dy through the ReLU's mask (dy itself without a ReLU): the gradient
// of both paths' outputs.
void Residual::mask_gradient(const Tensor& dy, Tensor& dsum) {
  const Tensor& g = in_layout(dy, y_.layout(), converted_);
  dsum.reshape(dy.shape(), y_.layout());
  const std::int64_t n = dy.numel();
  const float* y = y_.data();
  const float* pg = g.data();
  float* d = dsum.data();
  if (!relu_after_) {
    std::copy(pg, pg + n, d);
    return;
  }
  // The gradient is loaded unconditionally so that GCC vectorises the select;
  // written as `y > 0 ? g[i] : 0` it stays a scalar loop of unpredictable
  // branches (ReLU outputs are about half zeros), which cost 10 % of a
  // resnet20 step.
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) {
    const float g_i = pg[i];
    d[i] = y[i] > 0.0f ? g_i : 0.0f;
  }
}

Tensor& Residual::backward_impl(const Tensor& dy, const Context& ctx) {
  if (dy.shape() != y_.shape()) {
    throw std::invalid_argument(name() + ": gradient shape " + to_string(dy.shape()) +
                                " does not match output " + to_string(y_.shape()));
  }
  auto begin = ctx.observer ? Clock::now() : Clock::time_point{};
  Tensor dsum = GradientPool::local().take(dy.numel());
  mask_gradient(dy, dsum);
  if (ctx.observer) ctx.observer->backward_done(*this, begin, Clock::now());
  // The shortcut first: then gradients come out in exactly the reverse of the
  // parameters' forward order (branch, then shortcut), the order the gradient
  // buckets are planned in, so each bucket's all-reduce can start as early as possible.
  const Tensor& ds = shortcut_ ? shortcut_->backward_native(dsum, ctx) : dsum;
  const Tensor& db = branch_->backward_native(dsum, ctx);
  if (db.shape() != ds.shape() && needs_input_grad()) {
    throw std::logic_error(name() + ": branch and shortcut input gradients differ in shape");
  }
  begin = ctx.observer ? Clock::now() : Clock::time_point{};
  Tensor& dx = needs_input_grad() ? input_grad(db.shape(), db.layout()) : no_input_grad();
  if (needs_input_grad()) {
    add(db, in_layout(ds, db.layout(), converted_), false, dx);
    if (ctx.precision == Precision::fp16) round_to_half_parallel(dx.span());
  }
  if (ctx.observer) ctx.observer->backward_done(*this, begin, Clock::now());
  // Both paths' gradients and dsum are consumed: their buffers can be reused.
  branch_->release_input_grad();
  if (shortcut_) shortcut_->release_input_grad();
  GradientPool::local().give(std::move(dsum));
  return dx;
}

}  // namespace lb
