#include "runtime/backends/cuda/net/gpu_sequential.hpp"

namespace lb::cuda {

std::vector<GpuParam*> GpuSequential::params() {
  std::vector<GpuParam*> all;
  for (auto& c : children_) {
    auto p = c->params();
    all.insert(all.end(), p.begin(), p.end());
  }
  return all;
}

std::vector<GpuBuffer*> GpuSequential::buffers() {
  std::vector<GpuBuffer*> all;
  for (auto& c : children_) {
    auto b = c->buffers();
    all.insert(all.end(), b.begin(), b.end());
  }
  return all;
}

void GpuSequential::for_each_leaf(const std::function<void(GpuLayer&)>& fn) {
  for (auto& c : children_) c->for_each_leaf(fn);
}

void GpuSequential::release_input_grad() {
  if (!children_.empty()) children_.front()->release_input_grad();
}

const GpuTensor& GpuSequential::forward_impl(const GpuTensor& x, const GpuPass& pass) {
  if (children_.empty()) {
    passthrough_ = x;
    return passthrough_;
  }
  const GpuTensor* cur = &x;
  for (auto& c : children_) cur = &c->forward(*cur, pass);
  return *cur;
}

const GpuTensor& GpuSequential::backward_impl(const GpuTensor& dy, const GpuPass& pass) {
  if (children_.empty()) {
    passthrough_ = dy;
    return passthrough_;
  }
  const GpuTensor* cur = &dy;
  GpuLayer* producer = nullptr;  // the child whose input gradient `cur` is
  for (auto it = children_.rbegin(); it != children_.rend(); ++it) {
    cur = &(*it)->backward(*cur, pass);
    // Consumed by work enqueued just now: stream order makes the reuse safe.
    if (producer != nullptr) producer->release_input_grad();
    producer = it->get();
  }
  return *cur;
}

}  // namespace lb::cuda
