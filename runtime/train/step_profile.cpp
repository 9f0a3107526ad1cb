#include "runtime/train/step_profile.hpp"

#include <algorithm>
#include <cmath>

namespace lb {
namespace {

const char* phase_key(Phase p) {
  switch (p) {
    case Phase::forward: return "forward_s";
    case Phase::backward: return "backward_s";
    case Phase::exposed_comm: return "exposed_comm_s";
    case Phase::optimizer: return "optimizer_s";
    case Phase::data_wait: return "data_wait_s";
    case Phase::data_prepare: return "data_prepare_s";
    case Phase::step: return "step_s";
  }
  return "unknown";
}

// Relative standard deviation of forward + backward from step to step (both
// phases are recorded in the same steps, so their samples line up): how much
// a rank's compute jitters, which makes the other ranks wait for the slowest
// at every all-reduce. 0 with fewer than 2 steps.
double compute_cv(const Samples& forward, const Samples& backward) {
  const std::size_t n = std::min(forward.size(), backward.size());
  if (n < 2) return 0;
  double sum = 0, squares = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double c = forward.values()[i] + backward.values()[i];
    sum += c, squares += c * c;
  }
  const double mean = sum / double(n);
  const double variance = std::max(0.0, squares / double(n) - mean * mean);
  return mean > 0 ? std::sqrt(variance * double(n) / double(n - 1)) / mean : 0;
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
  if (it == row_by_name_.end() && layer.is_composite()) it = row_by_name_.find(layer.name() + ".add");
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

void StepProfile::add_allreduce(const std::string& algorithm, std::size_t bytes, double seconds) {
  if (recording_) allreduce_[{algorithm, bytes}].add(seconds);
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

nlohmann::json StepProfile::to_json(const nlohmann::json& meta) const {
  nlohmann::json doc{{"format", "largebatch-profile"}, {"version", 1}};
  doc.update(meta);
  doc["steps"] = steps_recorded_;
  auto layers = nlohmann::json::array();
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    const LayerInfo& r = rows_[i];
    layers.push_back({{"name", r.name}, {"kind", r.kind}, {"params", r.params},
                      {"forward_flops", r.forward_flops}, {"forward_s", forward_[i].median()},
                      {"backward_s", backward_[i].median()}});
  }
  doc["layers"] = std::move(layers);
  auto order = nlohmann::json::array();
  for (int row : gradient_order_) order.push_back(rows_[std::size_t(row)].name);
  doc["gradient_order"] = std::move(order);
  for (Phase p : {Phase::forward, Phase::backward, Phase::exposed_comm, Phase::optimizer,
                  Phase::data_wait, Phase::data_prepare, Phase::step}) {
    auto it = phases_.find(p);
    doc[phase_key(p)] = it == phases_.end() ? 0.0 : it->second.median();
  }
  const auto fwd = phases_.find(Phase::forward), bwd = phases_.find(Phase::backward);
  doc["compute_cv"] = fwd == phases_.end() || bwd == phases_.end()
                          ? 0.0
                          : compute_cv(fwd->second, bwd->second);
  const int ranks = meta.value("ranks", 1);
  auto reduces = nlohmann::json::array();
  for (const auto& [key, samples] : allreduce_) {
    reduces.push_back({{"algorithm", key.first}, {"bytes", key.second}, {"ranks", ranks},
                       {"median_s", samples.median()}, {"count", samples.size()}});
  }
  doc["allreduce"] = std::move(reduces);
  return doc;
}

}  // namespace lb
