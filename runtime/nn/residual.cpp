#include "runtime/nn/residual.hpp"

#include <stdexcept>

#include "runtime/core/half.hpp"

namespace lb {

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

Tensor& Residual::forward_impl(const Tensor& x, const Context& ctx) {
  const Tensor& b = branch_->forward(x, ctx);
  const Tensor& s = shortcut_ ? shortcut_->forward(x, ctx) : x;
  if (b.shape() != s.shape()) {
    throw std::invalid_argument(name() + ": branch output " + to_string(b.shape()) +
                                " does not match shortcut output " + to_string(s.shape()));
  }
  y_.reshape(b.shape());
  const std::int64_t n = y_.numel();
  const float* pb = b.data();
  const float* ps = s.data();
  float* out = y_.data();
  if (relu_after_) {
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
    for (std::int64_t i = 0; i < n; ++i) {
      const float v = pb[i] + ps[i];
      out[i] = v < 0.0f ? 0.0f : v;  // NaN stays NaN, as in ReLU
    }
  } else {
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
    for (std::int64_t i = 0; i < n; ++i) out[i] = pb[i] + ps[i];
  }
  if (ctx.precision == Precision::fp16) round_to_half(y_.span());
  return y_;
}

Tensor& Residual::backward_impl(const Tensor& dy, const Context& ctx) {
  if (dy.shape() != y_.shape()) {
    throw std::invalid_argument(name() + ": gradient shape " + to_string(dy.shape()) +
                                " does not match output " + to_string(y_.shape()));
  }
  dsum_.reshape(dy.shape());
  const std::int64_t n = dy.numel();
  const float* y = y_.data();
  const float* g = dy.data();
  float* d = dsum_.data();
  const bool mask = relu_after_;
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) d[i] = (!mask || y[i] > 0.0f) ? g[i] : 0.0f;
  const Tensor& db = branch_->backward(dsum_, ctx);
  const Tensor& ds = shortcut_ ? shortcut_->backward(dsum_, ctx) : dsum_;
  if (!needs_input_grad()) return no_grad_;
  if (db.shape() != ds.shape()) {
    throw std::logic_error(name() + ": branch and shortcut input gradients differ in shape");
  }
  dx_.reshape(db.shape());
  const std::int64_t m = dx_.numel();
  const float* pb = db.data();
  const float* ps = ds.data();
  float* out = dx_.data();
#pragma omp parallel for simd schedule(static) if (m > (1 << 16))
  for (std::int64_t i = 0; i < m; ++i) out[i] = pb[i] + ps[i];
  if (ctx.precision == Precision::fp16) round_to_half(dx_.span());
  return dx_;
}

}  // namespace lb
