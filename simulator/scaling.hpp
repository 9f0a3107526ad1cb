#pragma once
// The sweep: one simulated step per GPU count, turned into the rows of
// scaling.json (throughput, efficiency, time split, time to train).
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "runtime/core/spec.hpp"
#include "simulator/cluster.hpp"
#include "simulator/compute_model.hpp"
#include "simulator/iteration.hpp"
#include "simulator/model_info.hpp"

namespace lb::sim {

struct Scenario {
  Spec spec;
  ModelInfo model;
  ComputeModel compute;
  ClusterModel cluster;
};

struct ScalingRow {
  int gpus = 0;
  double per_gpu_batch = 0;
  double iteration_s = 0, images_per_s = 0, efficiency = 0;
  double compute_s = 0, comm_s = 0, exposed_comm_s = 0, data_wait_s = 0, optimizer_s = 0;
  double time_to_train_s = 0;
  int buckets = 0;
};

// The step at `gpus` GPUs as the runtime would run it (bucket plan, group
// size, algorithm); pure, no SimGrid.
StepPlan step_plan(const Scenario& s, int gpus);

// Simulates one step at `gpus` GPUs in a fresh engine; fills `trace` with
// the step's events when asked.
ScalingRow simulate_gpus(const Scenario& s, int gpus, std::vector<TraceEvent>* trace = nullptr);

nlohmann::json to_json(const ScalingRow& row);
// Chrome trace event JSON of one step (open in Perfetto).
nlohmann::json chrome_trace(const std::vector<TraceEvent>& events, int gpus);

}  // namespace lb::sim
