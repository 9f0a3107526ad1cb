#pragma once
// The trainer's LayerObserver. For every layer event of a training step it
//  - adds the time to the StepProfile (profile.json),
//  - on the steps traced in detail, writes a per-layer trace event,
//  - with communication overlap, tells the GradientSync that the layer's
//    gradients are final, so their bucket's all-reduce starts on the
//    communication thread while backward continues with the layers before it.
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "runtime/comm/gradient_sync.hpp"
#include "runtime/nn/layer.hpp"
#include "runtime/trace/trace_writer.hpp"
#include "runtime/train/step_profile.hpp"

namespace lb {

class LayerHooks final : public LayerObserver {
 public:
  // `params`: the model's parameters in forward order; gradient i of the
  // GradientSync is params[params.size() - 1 - i] (backward order).
  // `trace` and `sync` may be null.
  LayerHooks(const std::vector<Param*>& params, StepProfile& profile, TraceWriter* trace,
             GradientSync* sync);

  // `trace_layers`: write per-layer trace events for this step.
  void begin_step(std::int64_t step, bool trace_layers);

  void forward_done(const Layer& layer, TimePoint begin, TimePoint end) override;
  void backward_done(const Layer& layer, TimePoint begin, TimePoint end) override;

 private:
  struct Entry {
    int row = -1;                        // in the profile's cost table
    std::vector<std::size_t> gradients;  // GradientSync indices of its parameters
  };
  const Entry& entry(const Layer& layer);
  void trace_event(const Layer& layer, const char* phase, TimePoint begin, TimePoint end);

  std::unordered_map<const Param*, std::size_t> gradient_index_;
  std::unordered_map<const Layer*, Entry> entries_;  // filled on first sight
  StepProfile& profile_;
  TraceWriter* trace_;
  GradientSync* sync_;
  std::int64_t step_ = 0;
  bool trace_layers_ = false;
};

}  // namespace lb
