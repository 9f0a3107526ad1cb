#include "runtime/nn/sequential.hpp"

#include <algorithm>
#include <stdexcept>

#include "runtime/nn/residual.hpp"

namespace lb {

Layer& Sequential::add(std::unique_ptr<Layer> layer) {
  if (!layer) throw std::invalid_argument(name() + ": cannot add a null layer");
  if (children_.empty()) layer->set_needs_input_grad(needs_input_grad());
  children_.push_back(std::move(layer));
  return *children_.back();
}

Shape Sequential::output_shape(const Shape& input) const {
  Shape s = input;
  for (const auto& c : children_) s = c->output_shape(s);
  return s;
}

std::int64_t Sequential::param_count() const {
  std::int64_t n = 0;
  for (const auto& c : children_) n += c->param_count();
  return n;
}

double Sequential::forward_flops(const Shape& input) const {
  double flops = 0;
  Shape s = input;
  for (const auto& c : children_) {
    flops += c->forward_flops(s);
    s = c->output_shape(s);
  }
  return flops;
}

void Sequential::init(Rng& rng) {
  for (auto& c : children_) c->init(rng);
}

std::vector<Param*> Sequential::params() {
  std::vector<Param*> all;
  for (auto& c : children_) {
    auto p = c->params();
    all.insert(all.end(), p.begin(), p.end());
  }
  return all;
}

std::vector<Tensor*> Sequential::buffers() {
  std::vector<Tensor*> all;
  for (auto& c : children_) {
    auto b = c->buffers();
    all.insert(all.end(), b.begin(), b.end());
  }
  return all;
}

void Sequential::describe(const Shape& input, std::vector<LayerInfo>& rows) const {
  Shape s = input;
  for (const auto& c : children_) {
    c->describe(s, rows);
    s = c->output_shape(s);
  }
}

void Sequential::set_needs_input_grad(bool needed) {
  Layer::set_needs_input_grad(needed);
  if (!children_.empty()) children_.front()->set_needs_input_grad(needed);
}

// The children own the tensors they return; handing one on as non-const is
// safe because only that child writes it, and only in its next call.
Tensor& Sequential::forward_impl(const Tensor& x, const Context& ctx) {
  if (children_.empty()) {
    passthrough_ = x;
    return passthrough_;
  }
  const Tensor* cur = &x;
  for (auto& c : children_) cur = &c->forward_native(*cur, ctx);
  return const_cast<Tensor&>(*cur);
}

Tensor& Sequential::backward_impl(const Tensor& dy, const Context& ctx) {
  if (children_.empty()) {
    passthrough_ = dy;
    return passthrough_;
  }
  const Tensor* cur = &dy;
  Layer* producer = nullptr;  // the child whose input gradient `cur` is
  for (auto it = children_.rbegin(); it != children_.rend(); ++it) {
    cur = &(*it)->backward_native(*cur, ctx);
    if (producer != nullptr) producer->release_input_grad();  // consumed just now
    producer = it->get();
  }
  return const_cast<Tensor&>(*cur);
}

void Sequential::release_input_grad() {
  if (!children_.empty()) children_.front()->release_input_grad();
}

namespace {

template <class L, class Fn>
void visit_leaves(L& root, const Fn& fn) {
  using Seq = std::conditional_t<std::is_const_v<L>, const Sequential, Sequential>;
  using Res = std::conditional_t<std::is_const_v<L>, const Residual, Residual>;
  if (auto* seq = dynamic_cast<Seq*>(&root)) {
    for (std::size_t i = 0; i < seq->size(); ++i) visit_leaves((*seq)[i], fn);
  } else if (auto* res = dynamic_cast<Res*>(&root)) {
    visit_leaves(res->branch(), fn);
    if (res->shortcut() != nullptr) visit_leaves(*res->shortcut(), fn);
  } else {
    fn(root);
  }
}

}  // namespace

void for_each_leaf(Layer& root, const std::function<void(Layer&)>& fn) { visit_leaves(root, fn); }

void for_each_leaf(const Layer& root, const std::function<void(const Layer&)>& fn) {
  visit_leaves(root, fn);
}

}  // namespace lb
