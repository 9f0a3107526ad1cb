#include "runtime/train/layer_hooks.hpp"

#include <chrono>

namespace lb {
namespace {

double seconds(LayerObserver::TimePoint begin, LayerObserver::TimePoint end) {
  return std::chrono::duration<double>(end - begin).count();
}

}  // namespace

LayerHooks::LayerHooks(const std::vector<Param*>& params, StepProfile& profile, TraceWriter* trace,
                       GradientSync* sync)
    : profile_(profile), trace_(trace), sync_(sync) {
  for (std::size_t i = 0; i < params.size(); ++i)
    gradient_index_[params[i]] = params.size() - 1 - i;
}

void LayerHooks::begin_step(std::int64_t step, bool trace_layers) {
  step_ = step;
  trace_layers_ = trace_layers && trace_ != nullptr;
}

const LayerHooks::Entry& LayerHooks::entry(const Layer& layer) {
  auto it = entries_.find(&layer);
  if (it != entries_.end()) return it->second;
  Entry e;
  e.row = profile_.row_of(layer);
  if (!layer.is_composite()) {
    // params() is non-const only because it hands out mutable pointers.
    for (Param* p : const_cast<Layer&>(layer).params())
      e.gradients.push_back(gradient_index_.at(p));
  }
  return entries_.emplace(&layer, std::move(e)).first->second;
}

void LayerHooks::forward_done(const Layer& layer, TimePoint begin, TimePoint end) {
  profile_.add_forward(entry(layer).row, seconds(begin, end));
  if (trace_layers_) trace_event(layer, "forward", begin, end);
}

void LayerHooks::backward_done(const Layer& layer, TimePoint begin, TimePoint end) {
  const Entry& e = entry(layer);
  if (sync_ != nullptr) {
    for (std::size_t g : e.gradients) sync_->ready(g);
  }
  profile_.add_backward(e.row, seconds(begin, end));
  if (!e.gradients.empty()) profile_.gradient_ready(e.row);
  if (trace_layers_) trace_event(layer, "backward", begin, end);
}

void LayerHooks::trace_event(const Layer& layer, const char* phase, TimePoint begin,
                             TimePoint end) {
  const double start_us = trace_->us_at(begin);
  // A composite reports only its own work: its cost-table row's name.
  trace_->complete(layer.is_composite() ? layer.name() + ".add" : layer.name(), phase, start_us,
                   seconds(begin, end) * 1e6, 0, {{"step", step_}, {"kind", layer.kind()}});
}

}  // namespace lb
