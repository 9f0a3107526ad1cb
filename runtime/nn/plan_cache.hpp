#pragma once
// What the layers keep per input shape, free of oneDNN so that the layers'
// public headers can hold it: a small cache of plans (a layer's primitives
// for one input shape, defined privately by each layer), its key, and the
// check that a backward call follows the forward it belongs to.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "runtime/tensor/tensor.hpp"

namespace lb::cpu {

// Primitives built for the most recently used input shapes, most recent
// first. Building a oneDNN primitive costs far more than running a small one,
// and training alternates between the training and evaluation batch shapes,
// so both stay cached. Entries are heap-allocated and never move while cached.
template <class Plan>
class PlanCache {
 public:
  explicit PlanCache(std::size_t capacity = 4) : capacity_(capacity) {}

  // Returns the plan for `key`, calling make() (returning unique_ptr<Plan>)
  // on a miss; the least recently used plan is dropped when full.
  template <class Make>
  Plan& get(const Shape& key, Make&& make) {
    auto hit = std::find_if(entries_.begin(), entries_.end(),
                            [&](const auto& e) { return e.first == key; });
    if (hit != entries_.end()) {
      std::rotate(entries_.begin(), hit, hit + 1);
    } else {
      if (entries_.size() >= capacity_) entries_.pop_back();
      entries_.insert(entries_.begin(), {key, make()});
    }
    return *entries_.front().second;
  }
  std::size_t size() const { return entries_.size(); }

 private:
  std::size_t capacity_;
  std::vector<std::pair<Shape, std::unique_ptr<Plan>>> entries_;
};

// The cache key of a plan: the input shape plus whether it trains (training
// primitives differ: prop kind, pooling workspace) and, for layers that run
// in their input's layout, that layout.
inline Shape plan_key(const Shape& input, bool training, Layout layout = Layout::plain) {
  Shape key = input;
  key.push_back(training ? 1 : 0);
  key.push_back(static_cast<std::int64_t>(layout));
  return key;
}

// Checks that a backward call matches the forward it follows.
inline void check_backward(const std::string& layer, bool trained, const Shape& expected,
                           const Shape& dy) {
  if (!trained) {
    throw std::logic_error(layer + ": backward() needs a preceding forward() in train mode");
  }
  if (dy != expected) {
    throw std::invalid_argument(layer + ": gradient shape " + to_string(dy) +
                                " does not match output shape " + to_string(expected));
  }
}

}  // namespace lb::cpu
