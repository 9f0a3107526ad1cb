#pragma once
// The sweep runner: stage by stage, generates the stage's configurations
// (once; they are stored), runs its pending trials through lb-train (as
// subprocesses, or as Slurm jobs: launcher.hpp),
// up to `workers` at a time, stops poor ones early by successive halving,
// estimates the final stage's cost with the simulator, and writes
// DIR/best-spec.json. Rerunning on the same DIR resumes.
#include <filesystem>
#include <iosfwd>
#include <vector>

#include "hparam/store.hpp"
#include "hparam/sweep_file.hpp"

namespace lb::hparam {

struct RunOptions {
  std::filesystem::path out;
  int workers = 1;
  std::filesystem::path trainer;    // lb-train (or a stand-in with its CLI)
  std::filesystem::path simulator;  // simulate-scaling; may not exist
  bool plan_only = false;           // stop before the final stage, after the cost estimate
  bool retry_failed = false;        // failed trials of the latest stage run again
  std::string launcher;             // "local" or "slurm"; "" = the sweep file's
  double poll_s = 0.05;
  double heartbeat_s = 30;  // a progress line at least this often
};

// Exit code: 0 done (or planned), 1 a stage had no usable trial, 130 interrupted.
// Throws InputError when DIR holds another sweep or is not a sweep directory.
int run_sweep(const SweepConfig& sweep, const RunOptions& options, std::ostream& log);

// Trials of one stage that may seed the next, best first: finished ones by
// objective, then pruned ones by how far they got and their last value.
std::vector<TrialRecord> rank_trials(std::vector<TrialRecord> trials, Goal goal);

// The full-run spec for a configuration: base + final stage fidelity + params.
nlohmann::json full_run_spec(const SweepConfig& sweep, const nlohmann::json& params);

// "lr.base=0.1 lars.eta=0.01": params with their first key component dropped.
std::string short_params(const nlohmann::json& params);

// Set by SIGINT/SIGTERM handlers; the runner stops its trials and returns 130.
void request_stop();

}  // namespace lb::hparam
