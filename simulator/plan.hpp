#pragma once
// simulate-scaling plan: time and cost to a target accuracy for every (GPU
// count, global batch) pair. The steps come from a convergence model
// (convergence.hpp), the time of one step from the step simulation
// (scaling.hpp) of the spec at that batch and GPU count:
//   time to accuracy = ceil(S(B)) x iteration_s(gpus, B)
//   GPU-hours = gpus x time / 3600, cost = GPU-hours x price per GPU-hour
// Pairs whose batch the GPU count does not divide, and those that do not fit
// in memory, are skipped (and listed). Rows are sorted by time to accuracy;
// the cost Pareto front (no other row is both faster and cheaper) is marked.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "simulator/convergence.hpp"
#include "simulator/memory_fit.hpp"
#include "simulator/scaling.hpp"

namespace lb::sim {

struct PlanRequest {
  std::vector<int> gpus;
  std::vector<std::int64_t> batches;
  std::optional<double> price_per_gpu_hour;  // nullopt: cost is null, "cheapest" is by GPU-hours
};

struct PlanRow {
  int gpus = 0;
  std::int64_t global_batch = 0;
  double per_gpu_batch = 0;
  std::int64_t steps = 0;  // ceil(S(global_batch))
  double epochs = 0;       // steps x global_batch / training images
  double iteration_s = 0, images_per_s = 0, efficiency = 0;
  double time_to_accuracy_s = 0, gpu_hours = 0;
  std::optional<double> cost;
  std::optional<bool> fits_memory;
  bool extrapolated = false;  // batch outside the model's measured range
  bool pareto = false;        // on the time / GPU-hours Pareto front
};

struct SkippedPair {
  int gpus = 0;
  std::int64_t global_batch = 0;
  std::string reason;
};

// Indices into Plan::rows.
struct PlanPicks {
  std::size_t fastest = 0, cheapest = 0;
  std::size_t cheapest_near_fastest = 0;  // cheapest within kNearFastest of the fastest time
};
constexpr double kNearFastest = 0.10;

struct Plan {
  std::string spec_name, model, gpu, compute_source;
  ConvergenceModel convergence;
  std::optional<double> price_per_gpu_hour;
  std::vector<PlanRow> rows;  // by time to accuracy, then GPU-hours
  std::vector<SkippedPair> skipped;
  std::optional<PlanPicks> picks;           // over every row
  std::optional<PlanPicks> picks_in_range;  // over rows inside the measured batches, when
                                            // `picks` names an extrapolated row
  std::vector<std::string> warnings;        // the model does not match the spec, memory unknown
};

struct PlanHooks {
  // One simulated step of the scenario (at its global batch) on `gpus` GPUs.
  std::function<ScalingRow(const Scenario&, int gpus)> step = [](const Scenario& s, int gpus) {
    return predict(s, gpus, s.spec.train.global_batch);
  };
  // Throws InputError for a GPU count the scenario cannot run (cluster size,
  // algorithm constraints); called only for pairs that divide.
  std::function<void(const Scenario&, int gpus)> check = [](const Scenario&, int) {};
  MemoryFitCheck memory = device_memory_fit;
};

// Throws InputError from hooks.check; runs every check before simulating.
Plan make_plan(const Scenario& s, const ConvergenceModel& model, const PlanRequest& request,
               const PlanHooks& hooks = {});

// The batches plan tries by default: powers of two over the model's measured
// range widened by a factor 2 each way (so the edge of extrapolation shows),
// and the spec's own global batch.
std::vector<std::int64_t> default_plan_batches(const ConvergenceModel& model,
                                               std::int64_t spec_batch);

nlohmann::json to_json(const Plan& plan);
std::string plan_csv(const Plan& plan);
// The table, the skipped pairs and the recommendation line, as printed.
std::string describe(const Plan& plan);

}  // namespace lb::sim
