#pragma once
// The final stage's cost in time to accuracy: when the sweep file names a
// convergence model (target.convergence), each final configuration is priced
// with `simulate-scaling plan SPEC --convergence MODEL --gpus N --batches B`
// (steps to the model's target at the configuration's global batch, times the
// simulated step on the target cluster) instead of a fixed number of epochs.
// "trials" fits the model first, with `simulate-scaling fit-convergence`, to
// the sweep's own trials that stopped at a target (train.stop_at) and trained
// what the full runs train (model, optimizer, precision, data, target).
#include <iosfwd>
#include <vector>

#include "hparam/store.hpp"
#include "hparam/sweep_file.hpp"

namespace lb::hparam {

struct RunOptions;

// Logs one line per final trial. Returns false, having logged why, when no
// convergence model could be had (the caller then estimates fixed-epoch time).
bool estimate_costs_to_accuracy(const SweepConfig& sweep, const TrialStore& store,
                                const std::vector<TrialRecord>& final_trials,
                                const RunOptions& options, std::ostream& log);

}  // namespace lb::hparam
