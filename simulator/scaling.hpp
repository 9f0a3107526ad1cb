#pragma once
// The prediction for one (GPU count, global batch): the step as the runtime
// would run it (bucket plan, group size, algorithm), its collectives timed
// on the cluster, one simulated step, and the row of scaling.json (time
// split into its terms, time to train, memory fit, cost). predict() is the
// library entry point the sweep and the planner (issue 21) call.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/core/comm_algorithm.hpp"
#include "runtime/core/spec.hpp"
#include "simulator/cluster.hpp"
#include "simulator/compute_model.hpp"
#include "simulator/device.hpp"
#include "simulator/iteration.hpp"
#include "simulator/model_info.hpp"

namespace lb::sim {

struct Scenario {
  Spec spec;
  ModelInfo model;
  ComputeModel compute;
  ClusterModel cluster;
  DeviceProfile device;
  // Straggler jitter: relative std of a GPU's compute (measured by the
  // profiles, else cluster.compute_cv), and where it came from.
  double compute_cv = 0;
  bool compute_cv_measured = false;  // by the profiles: compute.compute_cv_at applies
  std::string compute_cv_source;
  // comm.auto_calibration, when set: its rules hold at its ranks and group size.
  std::string auto_calibration_file;
  std::vector<AutoRule> auto_rules;
  int auto_ranks = 0, auto_group_size = 0;
};

struct ScalingRow {
  int gpus = 0;
  std::int64_t global_batch = 0, per_gpu_batch = 0, steps = 0;
  double iteration_s = 0, images_per_s = 0, efficiency = 0;
  double compute_s = 0, comm_s = 0, exposed_comm_s = 0, data_wait_s = 0, optimizer_s = 0;
  double overhead_s =
      0;  // fixed per-step time: kernels, framework, host (part of compute_s + host)
  double straggler_s = 0;     // what waiting for the slowest GPU adds to the step
  double interference_s = 0;  // what all-reduces beside compute add to the step
  double time_to_train_s = 0;
  int buckets = 0;
  std::int64_t fusion_bytes = 0;  // comm.fusion_bytes at this GPU count ("auto" resolved)
  double memory_gib = 0;
  bool fits_memory = true;
  double gpu_hours = 0, cost = 0;
  bool extrapolated = false;     // per-GPU batch far from any measured one (or none measured)
  bool auto_calibrated = false;  // `auto` followed comm.auto_calibration's rules
};

// comm.fusion_bytes at `gpus` GPUs: the spec's, or what "auto" resolves to
// on this cluster.
std::int64_t fusion_bytes(const Scenario& s, int gpus);

// The step at `gpus` GPUs and `global_batch` (which `gpus` must divide:
// SpecError("train.global_batch") otherwise); no SimGrid.
StepPlan step_plan(const Scenario& s, int gpus, std::int64_t global_batch);

// Simulates one step in a fresh engine and fills the row; `trace` gets the
// step's events when given. `price_per_gpu_hour` prices the run.
ScalingRow predict(const Scenario& s, int gpus, std::int64_t global_batch,
                   double price_per_gpu_hour = 0, std::vector<TraceEvent>* trace = nullptr);

// Whether comm.auto_calibration's rules hold at this GPU count.
bool auto_calibration_applies(const Scenario& s, int gpus);

nlohmann::json to_json(const ScalingRow& row);
// Chrome trace event JSON of one step (open in Perfetto).
nlohmann::json chrome_trace(const std::vector<TraceEvent>& events, int gpus);

}  // namespace lb::sim
