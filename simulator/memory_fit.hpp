#pragma once
// The planner's one question about GPU memory: does a configuration (the
// scenario at its global batch, on `gpus` GPUs) fit? The estimate itself
// (weights, fp32 masters, optimizer state, activations at the per-GPU batch
// and precision, workspace) belongs to the step model, so there is one memory
// model (memory_model.hpp); `simulate-scaling plan` and --require-fit ask it
// through device_memory_fit().
#include <functional>
#include <optional>
#include <string>

#include "simulator/scaling.hpp"

namespace lb::sim {

struct MemoryFit {
  std::optional<bool> fits;  // nullopt: not known
  std::string note;          // why it does not fit, or what was not checked
};

using MemoryFitCheck = std::function<MemoryFit(const Scenario& scenario, int gpus)>;

// The device's memory against memory_per_gpu() at the scenario's per-GPU
// batch; unknown where the cluster is not of GPUs (a CPU calibration).
MemoryFit device_memory_fit(const Scenario& scenario, int gpus);

}  // namespace lb::sim
