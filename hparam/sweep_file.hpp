#pragma once
// A sweep file (experiments/sweeps/*.json, documented in experiments/SPEC.md):
// a base experiment spec, a search space over spec keys and a list of stages.
// parse_sweep_file validates everything up front, including that the base
// spec with each stage's fidelity and each end of each range is a valid spec,
// so a bad sweep fails before any directory or trial exists.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "hparam/space.hpp"

namespace lb::hparam {

enum class Sampler { grid, halton };
enum class Goal { maximize, minimize };

struct Halving {          // successive halving inside a stage
  double eta = 3;         // reduction factor: the top 1/eta at each rung go on
  double min_epochs = 1;  // first rung; rungs at min_epochs * eta^k below the stage's epochs
  // sync: every trial stops at a rung (checkpointed) until all have reached it,
  // then exactly the best max(1, floor(n/eta)) resume. async (ASHA): a trial is
  // judged against those that reached the rung before it, and never waits.
  bool synchronous = true;
};

// Progressive initialization of a stage's trials (train.init_from): from
// nothing (the seed's random weights), from the previous stage's best trial,
// or each from the previous-stage trial its configuration was derived from
// (the centre of its box; for a final stage the configuration itself).
enum class InitFrom { none, best_of_previous_stage, parent };
std::string to_string(InitFrom from);

struct Stage {
  std::string name;
  bool final = false;  // the full runs: the previous stage's top_k at the base spec's fidelity
  Sampler sampler = Sampler::grid;
  int points = 3;           // grid: values per continuous axis; halton: points per box
  int top_k = 3;            // previous-stage configurations carried into this stage
  double narrow = 1.0 / 3;  // box half-width relative to the previous search stage's
  nlohmann::json fidelity = nlohmann::json::object();  // "spec.key": value overrides
  std::optional<Halving> halving;
  // Final stage: train a configuration again even when an earlier stage
  // already ran it to the end at this fidelity (default: carry that result).
  bool rerun_identical = false;
  InitFrom init_from = InitFrom::none;
};

// The "slurm" object: how a trial becomes a Slurm batch job (slurm.hpp;
// each field's #SBATCH option is in experiments/SPEC.md#slurm).
struct SlurmSettings {
  std::string partition;            // --partition; "" = the cluster's default
  int ranks = 1;                    // --ntasks: data-parallel ranks of one trial
  int nodes = 0;                    // --nodes; 0 = Slurm chooses
  int gpus_per_rank = 0;            // --gpus-per-task
  int cpus_per_rank = 0;            // --cpus-per-task
  int time_limit_min = 0;           // --time; 0 = from trial.timeout_s
  std::vector<std::string> sbatch;  // further "#SBATCH LINE"s
  std::vector<std::string> srun;    // srun options before the trainer
  double poll_s = 10;               // how often squeue is asked
};

struct TrialSettings {
  double timeout_s = 3600;
  int retries = 1;  // extra attempts after a crash or timeout (never after divergence)
  std::vector<std::string> launcher;  // e.g. ["mpirun", "-np", "2"]
};

// What a sweep ranks by: validation_accuracy / validation_loss (the held-out
// split of the training set, data.validation_images), or, only with
// allow_test_objective, test_accuracy / test_loss. *_loss is minimised.
Goal objective_goal(const std::string& objective);
bool is_test_objective(const std::string& objective);

struct SweepConfig {
  std::string name = "sweep";
  nlohmann::json base;  // the base experiment spec, inlined
  std::uint64_t seed = 1;
  std::string objective = "validation_accuracy";
  bool allow_test_objective = false;  // choosing by the test set, knowingly
  int target_gpus = 0;                // 0: no cost estimate
  // Convergence model for the cost estimate in time to accuracy: a file (made
  // absolute), "trials" (fitted to this sweep's trials), or "" (fixed epochs).
  std::string target_convergence;
  double target_price_per_gpu_hour = 0;  // 0: no price, cost in GPU-hours only
  TrialSettings trial;
  std::string launcher = "local";  // local | slurm
  SlurmSettings slurm;
  SearchSpace space;
  std::vector<Stage> stages;
  nlohmann::json source;  // the file with "base" inlined: identifies the sweep on resume

  Goal goal() const { return objective_goal(objective); }
};

// Throws InputError ("sweep error: FILE: JSON.PATH: what") on any problem.
SweepConfig parse_sweep_file(const std::filesystem::path& file);
SweepConfig parse_sweep(const nlohmann::json& document, const std::filesystem::path& base_dir);

// The base spec with `overrides` ("a.b": value) applied.
nlohmann::json apply_overrides(nlohmann::json spec, const nlohmann::json& overrides);

// "a.b.c=VALUE" for lb-train's --set, VALUE as JSON (strings unquoted when
// they would not parse as JSON anyway, to keep commands readable).
std::string set_argument(const std::string& key, const nlohmann::json& value);

// The epochs a trial of `stage` trains (train.epochs of base + fidelity).
double stage_epochs(const SweepConfig& sweep, const Stage& stage);

}  // namespace lb::hparam
