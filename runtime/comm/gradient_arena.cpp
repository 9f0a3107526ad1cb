#include "runtime/comm/gradient_arena.hpp"

#include <algorithm>
#include <stdexcept>

namespace lb {
namespace {

constexpr std::size_t kAlignValues = 64 / sizeof(float);

std::size_t aligned(std::size_t values) {
  return (values + kAlignValues - 1) / kAlignValues * kAlignValues;
}

}  // namespace

GradientArena::GradientArena(const std::vector<Tensor*>& grads) {
  std::size_t total = 0;
  for (const Tensor* g : grads) {
    offsets_.push_back(total);
    total += aligned(static_cast<std::size_t>(g->numel()));
  }
  storage_.assign(total, 0.0f);  // padding included: it must read as zeros
  for (std::size_t i = 0; i < grads.size(); ++i) {
    Tensor& g = *grads[i];
    const std::span<float> home(storage_.data() + offsets_[i], static_cast<std::size_t>(g.numel()));
    std::copy(g.span().begin(), g.span().end(), home.begin());
    const Layout layout = g.layout();
    g = Tensor::view_of(home, g.shape());
    g.reshape(g.shape(), layout);
    grads_.push_back(home);
  }
}

std::span<float> GradientArena::slice(std::size_t first, std::size_t last) {
  if (first > last || last >= grads_.size()) {
    throw std::out_of_range("GradientArena::slice: gradients " + std::to_string(first) + ".." +
                            std::to_string(last) + " of " + std::to_string(grads_.size()));
  }
  const std::size_t begin = offsets_[first], end = offsets_[last] + grads_[last].size();
  return {storage_.data() + begin, end - begin};
}

}  // namespace lb
