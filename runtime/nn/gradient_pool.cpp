#include "runtime/nn/gradient_pool.hpp"

#include <utility>

namespace lb {

GradientPool& GradientPool::local() {
  thread_local GradientPool pool;
  return pool;
}

Tensor GradientPool::take(std::int64_t numel) {
  std::size_t best = free_.size();
  for (std::size_t i = 0; i < free_.size(); ++i) {
    const std::int64_t cap = free_[i].capacity();
    if (cap >= numel && (best == free_.size() || cap < free_[best].capacity())) best = i;
  }
  if (best == free_.size()) return Tensor();  // grown by the caller's reshape
  Tensor t = std::move(free_[best]);
  free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(best));
  return t;
}

void GradientPool::give(Tensor&& t) {
  if (t.capacity() > 0) free_.push_back(std::move(t));
}

}  // namespace lb
