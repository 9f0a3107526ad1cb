#pragma once
// Everything a prediction needs, built once from the command line's inputs
// (spec and overrides, device profile directories, profiles or a
// calibration), and the checks of a list of GPU counts against it. Bad input
// throws InputError / SpecError (exit 2) before anything is simulated.
#include <filesystem>
#include <string>
#include <vector>

#include "simulator/scaling.hpp"

namespace lb::sim {

struct ScenarioInputs {
  std::string spec;
  std::vector<std::string> overrides;
  std::vector<std::filesystem::path>
      device_dirs;                    // searched in order (user's first, built-in last)
  std::vector<std::string> profiles;  // lb-train profile.json files or run directories
  std::string calibration;            // cal.json from `simulate-scaling calibrate`
};

Scenario make_scenario(const ScenarioInputs& inputs);

// The largest GPU count simulate-scaling accepts.
inline constexpr int kMaxGpus = 1 << 24;

// Throws for a GPU count the spec cannot run: beyond the cluster, not
// dividing the global batch, a torus2d group that does not divide it, more
// than kMaxGpus. Throws std::runtime_error (exit 1) when simulating it would
// need more memory than the machine has available.
void check_gpus(const Scenario& s, const std::vector<int>& gpus);

}  // namespace lb::sim
