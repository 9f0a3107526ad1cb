#pragma once
// What a run measured about its own training step, summarised as medians in
// DIR/profile.json: per-layer forward and backward time, the step's phases,
// and every all-reduce by (algorithm, bytes). It is the simulator's
// calibration input; its format is runtime/core/profile_format.hpp, documented
// in experiments/SPEC.md.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "runtime/core/profile_format.hpp"
#include "runtime/nn/layer.hpp"

namespace lb {

// A bounded sample: the first `capacity` values, enough for a stable median
// without growing over a long run.
class Samples {
 public:
  static constexpr std::size_t kCapacity = 200;
  void add(double v) {
    if (values_.size() < kCapacity) values_.push_back(v);
  }
  std::size_t size() const { return values_.size(); }
  const std::vector<double>& values() const { return values_; }
  double median() const;  // 0 when empty

 private:
  std::vector<double> values_;
};

enum class Phase { forward, backward, exposed_comm, optimizer, data_wait, data_prepare, step };

class StepProfile {
 public:
  // `rows`: the model's cost table (Model::layer_table) at the per-rank batch.
  explicit StepProfile(std::vector<LayerInfo> rows);

  // Row of the cost table a layer's events belong to: a leaf's own row, or a
  // residual block's "<name>.add" row. -1 for a layer without one.
  int row_of(const Layer& layer) const;

  // The first step of a process is a warm-up (primitive creation, page
  // faults) and is not recorded; neither is anything past Samples' capacity.
  void begin_step();
  bool recording() const { return recording_; }
  // Per-row times are summed over the step (a row may report several parts).
  void add_forward(int row, double seconds);
  void add_backward(int row, double seconds);
  // Leaves with parameters, in the order backward finished them.
  void gradient_ready(int row);
  void add_phase(Phase phase, double seconds);
  // `cpu_seconds`: CPU time of the thread that ran it (BucketTiming::cpu_s).
  void add_allreduce(const std::string& algorithm, std::size_t bytes, double seconds,
                     double cpu_seconds = 0);
  void end_step();

  std::int64_t steps_recorded() const { return steps_recorded_; }
  // profile.json's contents: `run` (model, precision, batch, ranks, comm
  // settings: what the trainer knows) with the measured medians filled in.
  Profile summary(Profile run) const;

 private:
  double phase_median(Phase phase) const;  // 0 when never reported

  std::vector<LayerInfo> rows_;
  std::map<std::string, int> row_by_name_;
  std::vector<Samples> forward_, backward_;
  std::vector<double> step_forward_, step_backward_;  // this step's sums per row
  std::vector<int> gradient_order_;
  bool order_complete_ = false;
  std::map<Phase, Samples> phases_;
  struct AllreduceSamples {
    Samples wall, cpu;
  };
  std::map<std::pair<std::string, std::size_t>, AllreduceSamples> allreduce_;
  bool recording_ = false;
  std::int64_t steps_seen_ = 0, steps_recorded_ = 0;
};

}  // namespace lb
