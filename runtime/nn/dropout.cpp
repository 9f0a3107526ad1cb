#include "runtime/nn/dropout.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace lb {

std::uint64_t stable_hash(const std::string& s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

Dropout::Dropout(std::string name, double p)
    : Layer(std::move(name)), p_(p), name_hash_(stable_hash(this->name())) {
  if (!(p >= 0 && p < 1)) {
    throw std::invalid_argument(this->name() + ": dropout probability must be in [0, 1)");
  }
}

// Each 64-bit draw gives two 32-bit uniforms; an element is dropped when its
// uniform falls below p * 2^32.
void Dropout::draw_keep_mask(double p, std::uint64_t seed, std::vector<std::uint8_t>& keep) {
  const auto n = static_cast<std::int64_t>(keep.size());
  Rng rng(seed);
  const auto threshold = static_cast<std::uint64_t>(std::llround(p * 4294967296.0));
  for (std::int64_t i = 0; i < n; i += 2) {
    const std::uint64_t r = rng();
    keep[i] = (r & 0xffffffffull) >= threshold;
    if (i + 1 < n) keep[i + 1] = (r >> 32) >= threshold;
  }
}

void Dropout::draw_mask(std::int64_t n, std::uint64_t seed) {
  keep_.resize(static_cast<std::size_t>(n));
  draw_keep_mask(p_, seed, keep_);
}

Tensor& Dropout::forward_impl(const Tensor& x_any, const Context& ctx) {
  // The mask is drawn in NCHW order, so a seed drops the same values whatever
  // layout the input came in.
  const Tensor& x = in_layout(x_any, Layout::plain, converted_);
  y_.reshape(x.shape());
  last_mode_ = ctx.mode;
  if (ctx.mode == Mode::eval || p_ == 0) {
    std::copy_n(x.data(), x.numel(), y_.data());
    return y_;
  }
  const std::int64_t n = x.numel();
  draw_mask(n, mix(ctx.seed, name_hash_));
  const auto scale = static_cast<float>(1.0 / (1.0 - p_));
  const float* in = x.data();
  float* out = y_.data();
  const std::uint8_t* keep = keep_.data();
  for (std::int64_t i = 0; i < n; ++i) out[i] = keep[i] ? in[i] * scale : 0.0f;
  return y_;
}

Tensor& Dropout::backward_impl(const Tensor& dy_any, const Context& /*ctx*/) {
  const Tensor& dy = in_layout(dy_any, Layout::plain, converted_);
  if (dy.shape() != y_.shape()) {
    throw std::invalid_argument(name() + ": gradient shape " + to_string(dy.shape()) +
                                " does not match output " + to_string(y_.shape()));
  }
  Tensor& dx = input_grad(dy.shape());
  if (last_mode_ == Mode::eval || p_ == 0) {
    std::copy_n(dy.data(), dy.numel(), dx.data());
    return dx;
  }
  const auto scale = static_cast<float>(1.0 / (1.0 - p_));
  const float* g = dy.data();
  float* out = dx.data();
  const std::uint8_t* keep = keep_.data();
  for (std::int64_t i = 0; i < dy.numel(); ++i) out[i] = keep[i] ? g[i] * scale : 0.0f;
  return dx;
}

}  // namespace lb
