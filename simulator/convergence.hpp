#pragma once
// A convergence model (convergence.json, experiments/SPEC.md "Convergence
// model files"): how many optimizer steps a training job needs to reach a
// target metric at global batch B, after McCandlish et al. 2018 and Shallue
// et al. 2018:
//   S(B) = S_min (1 + B_crit / B)      steps to the target
//   E(B) = S(B) B = E_min (1 + B / B_crit),  E_min = S_min B_crit
// Below B_crit doubling the batch nearly halves the steps; above it the steps
// stop falling. It holds for the optimizer, precision and model it was
// measured with, over the batch range it was measured on.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "runtime/core/spec.hpp"

namespace lb::sim {

// One measured (batch, steps to target) point behind a model.
struct ConvergencePoint {
  double batch = 0;
  double steps = 0;
  std::optional<double> fitted_steps;  // the model's S(batch), when a fit wrote it
  std::string label;                   // the run directory or the publication it came from
};

struct ConvergenceModel {
  StopAtSpec target;                    // the metric and value, as train.stop_at writes it
  double s_min = 0;                     // steps at an infinite batch
  double b_crit = 0;                    // critical batch, images
  double batch_min = 0, batch_max = 0;  // the batches it was measured over
  std::string precision;                // fp16 | fp32
  std::string optimizer;                // optimizer_label(): sgd | nesterov | lars
  std::string model;                    // zoo model name
  std::string dataset;                  // informative
  std::string method = "manual";        // steps_to_target_fit | noise_scale | manual
  std::string source;                   // where the numbers come from
  std::vector<ConvergencePoint> points;
  std::optional<double> rms_log_residual;
  std::string notes;

  double e_min() const { return s_min * b_crit; }
  double steps(double batch) const { return s_min * (1 + b_crit / batch); }
  // Outside the batches the model was measured over.
  bool extrapolated(double batch) const { return batch < batch_min || batch > batch_max; }
};

// The optimizer as a convergence model names it: "nesterov" for SGD with
// Nesterov momentum, else optimizer.name.
std::string optimizer_label(const OptimizerSpec& optimizer);

// "validation_accuracy >= 0.9", "test_loss <= 0.3".
std::string describe(const StopAtSpec& target);

// Reads and validates a convergence file; throws InputError
// ("convergence error: FILE: JSON.PATH: what") on any problem.
ConvergenceModel load_convergence(const std::filesystem::path& file);
ConvergenceModel parse_convergence(const nlohmann::json& document);  // throws SpecError

nlohmann::json to_json(const ConvergenceModel& model);

}  // namespace lb::sim
