#pragma once
// The planner's one question about GPU memory: does a configuration (the
// scenario at its global batch, on `gpus` GPUs) fit? The estimate itself
// (weights, fp32 masters, optimizer state, activations at the per-GPU batch
// and precision, workspace) belongs to the step model, so there is one memory
// model; `simulate-scaling plan` asks it only through this function type.
// Until a memory estimate is wired in, the answer is unknown: plan writes
// fits_memory null and says that memory was not checked.
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

inline MemoryFit memory_fit_unknown(const Scenario&, int) {
  return {std::nullopt,
          "memory fit not checked (this build has no per-GPU memory estimate): a large per-GPU "
          "batch may not fit the device"};
}

}  // namespace lb::sim
