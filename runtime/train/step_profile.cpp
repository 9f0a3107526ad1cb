#include "runtime/train/step_profile.hpp"

#include <algorithm>
#include <cmath>

namespace lb {
namespace {

// Relative spread of forward + backward from step to step (both phases are
// recorded in the same steps, so their samples line up): how much a rank's
// compute jitters, which makes the other ranks wait for the slowest at every
// all-reduce. A robust standard deviation (interquartile range / 1.349, that
// of a normal distribution) over the median: on a shared machine a few steps
// stall for reasons outside the run, and std / mean let them decide it (0.41
// in one 30-step run whose interquartile spread was 0.05). 0 with < 4 steps.
double compute_cv(const Samples& forward, const Samples& backward) {
  const std::size_t n = std::min(forward.size(), backward.size());
  if (n < 4) return 0;
  std::vector<double> c(n);
  for (std::size_t i = 0; i < n; ++i) c[i] = forward.values()[i] + backward.values()[i];
  std::sort(c.begin(), c.end());
  const auto at = [&](double q) {  // linear interpolation between order statistics
    const double x = q * double(n - 1);
    const std::size_t i = std::size_t(x);
    return i + 1 < n ? c[i] + (x - double(i)) * (c[i + 1] - c[i]) : c[i];
  };
  const double median = at(0.5);
  return median > 0 ? (at(0.75) - at(0.25)) / 1.349 / median : 0;
}

}  // namespace

double Samples::median() const {
  if (values_.empty()) return 0;
  std::vector<double> v = values_;
  const auto mid = v.begin() + std::ptrdiff_t(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  if (v.size() % 2 == 1) return *mid;
  return (*mid + *std::max_element(v.begin(), mid)) / 2;
}

StepProfile::StepProfile(std::vector<LayerInfo> rows)
    : rows_(std::move(rows)),
      forward_(rows_.size()),
      backward_(rows_.size()),
      step_forward_(rows_.size()),
      step_backward_(rows_.size()) {
  for (std::size_t i = 0; i < rows_.size(); ++i) row_by_name_.emplace(rows_[i].name, int(i));
}

int StepProfile::row_of(const Layer& layer) const {
  auto it = row_by_name_.find(layer.name());
  if (it == row_by_name_.end() && layer.is_composite())
    it = row_by_name_.find(layer.name() + ".add");
  return it == row_by_name_.end() ? -1 : it->second;
}

void StepProfile::begin_step() {
  ++steps_seen_;
  recording_ = steps_seen_ > 1 && steps_recorded_ < std::int64_t(Samples::kCapacity);
  std::fill(step_forward_.begin(), step_forward_.end(), 0.0);
  std::fill(step_backward_.begin(), step_backward_.end(), 0.0);
}

void StepProfile::add_forward(int row, double seconds) {
  if (recording_ && row >= 0) step_forward_[std::size_t(row)] += seconds;
}

void StepProfile::add_backward(int row, double seconds) {
  if (recording_ && row >= 0) step_backward_[std::size_t(row)] += seconds;
}

void StepProfile::gradient_ready(int row) {
  if (!recording_ || order_complete_ || row < 0 || rows_[std::size_t(row)].params == 0) return;
  gradient_order_.push_back(row);
}

void StepProfile::add_phase(Phase phase, double seconds) {
  if (recording_) phases_[phase].add(seconds);
}

void StepProfile::add_allreduce(const std::string& algorithm, std::size_t bytes, double seconds,
                                double cpu_seconds) {
  if (!recording_) return;
  AllreduceSamples& samples = allreduce_[{algorithm, bytes}];
  samples.wall.add(seconds);
  samples.cpu.add(cpu_seconds);
}

void StepProfile::end_step() {
  if (!recording_) return;
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    forward_[i].add(step_forward_[i]);
    backward_[i].add(step_backward_[i]);
  }
  order_complete_ = true;
  ++steps_recorded_;
  recording_ = false;
}

Profile StepProfile::summary(Profile run) const {
  run.steps = steps_recorded_;
  run.layers.clear();
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    const LayerInfo& r = rows_[i];
    run.layers.push_back(
        {r.name, r.kind, r.params, r.forward_flops, forward_[i].median(), backward_[i].median()});
  }
  run.gradient_order.clear();
  for (int row : gradient_order_) run.gradient_order.push_back(rows_[std::size_t(row)].name);
  run.forward_s = phase_median(Phase::forward);
  run.backward_s = phase_median(Phase::backward);
  run.exposed_comm_s = phase_median(Phase::exposed_comm);
  run.optimizer_s = phase_median(Phase::optimizer);
  run.data_wait_s = phase_median(Phase::data_wait);
  run.data_prepare_s = phase_median(Phase::data_prepare);
  run.step_s = phase_median(Phase::step);
  const auto fwd = phases_.find(Phase::forward), bwd = phases_.find(Phase::backward);
  run.compute_cv =
      fwd == phases_.end() || bwd == phases_.end() ? 0.0 : compute_cv(fwd->second, bwd->second);
  run.allreduce.clear();
  for (const auto& [key, samples] : allreduce_) {
    run.allreduce.push_back({key.first, std::int64_t(key.second), run.ranks, samples.wall.median(),
                             std::int64_t(samples.wall.size()), samples.cpu.median()});
  }
  return run;
}

double StepProfile::phase_median(Phase phase) const {
  const auto it = phases_.find(phase);
  return it == phases_.end() ? 0.0 : it->second.median();
}

}  // namespace lb
