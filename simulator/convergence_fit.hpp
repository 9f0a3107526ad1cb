#pragma once
// Making a convergence model from lb-train runs (simulate-scaling
// fit-convergence):
//  * from steps-to-target runs (train.stop_at) at several global batches: per
//    batch the fewest steps of the runs that reached the target (the best of
//    their learning rates, as Shallue et al. 2018 measure it), then
//    S(B) = S_min (1 + B_crit / B) fitted by least squares in log space;
//  * from one run's gradient noise scale: B_crit ~ B_simple (McCandlish et
//    al. 2018) at the last measurement before the target, S_min from that
//    run's steps to target. One run instead of several, but rougher: B_simple
//    only approximates B_crit (it overestimates it on MNIST).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "simulator/convergence.hpp"

namespace lb::sim {

// Least squares of ln S_i - ln(S_min (1 + B_crit / B_i)) over the points
// (each at a distinct batch). For a given B_crit the best ln S_min is the
// mean of ln S_i - ln(1 + B_crit / B_i), so the fit is a 1-D search over
// ln B_crit in [min batch / 1e4, max batch * 1e4]: a grid, then golden
// sections around its best point.
struct StepsFit {
  double s_min = 0, b_crit = 0;
  double rms_log_residual = 0;
  std::vector<double> fitted_steps;  // S(B_i), in the order of the points
  // B_crit at an end of the searched range: the points show no knee. lower:
  // the steps do not fall with the batch (S = S_min everywhere); upper: they
  // fall as 1/B or faster (perfect scaling, B_crit only bounded below).
  enum class Bound { none, lower, upper } bound = Bound::none;
};
// Throws InputError unless the points have 2 or more distinct batches.
StepsFit fit_steps_to_target(const std::vector<ConvergencePoint>& points);

// What a run directory's summary.json says about its convergence.
struct TargetRun {
  std::filesystem::path dir;
  std::int64_t batch = 0;
  std::optional<std::int64_t> steps_to_target;  // nullopt: the step cap came first
  std::int64_t steps = 0;                       // steps it trained
  StopAtSpec target;
  std::string optimizer, precision, model, dataset;
  std::string data;  // dataset, train_subset, validation_images: runs must agree
};
// Throws InputError naming DIR/summary.json and the key when it is missing,
// malformed, or the run had no train.stop_at.
TargetRun read_target_run(const std::filesystem::path& dir);

struct ConvergenceFit {
  ConvergenceModel model;
  std::vector<TargetRun> runs;        // every run read, in the order given
  std::vector<std::string> warnings;  // e.g. B_crit at a bound
};

// fit-convergence RUN_DIR...: the runs must share target, optimizer,
// precision, model and data (InputError naming the first that differs).
ConvergenceFit fit_convergence(const std::vector<std::filesystem::path>& dirs);

// fit-convergence --noise-scale RUN_DIR: a run that stopped at its target and
// logged noise-scale rows in metrics.jsonl.
ConvergenceFit convergence_from_noise_scale(const std::filesystem::path& dir);

// The text fit-convergence prints: per batch the runs, the best steps, the
// fitted steps and the residual; then S_min, B_crit, E_min.
std::string describe(const ConvergenceFit& fit);

}  // namespace lb::sim
