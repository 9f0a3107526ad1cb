#pragma once
// Cost before booking: each final-stage configuration's full run is priced
// on the sweep's target cluster by the simulator (simulate-scaling SPEC
// --gpus N --out DIR -> DIR/scaling.json), before any full run starts. A
// missing simulator is reported in one line and the sweep goes on.
#include <filesystem>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "hparam/store.hpp"
#include "hparam/sweep_file.hpp"

namespace lb::hparam {

struct RunOptions;

void estimate_costs(const SweepConfig& sweep, TrialStore& store,
                    const std::vector<TrialRecord>& final_trials, const RunOptions& options,
                    std::ostream& log);

// Runs the simulator on trial `t`'s full-run spec, written to
// OUT/cost/ID[/subdir]/spec.json: `simulate-scaling [command] SPEC [args] --out
// THAT_DIR`. Returns the directory, or nullopt with `error` set to the exit
// status and the last line of its stderr.
std::optional<std::filesystem::path> run_simulator(const SweepConfig& sweep, const TrialRecord& t,
                                                   const RunOptions& options,
                                                   const std::vector<std::string>& command,
                                                   const std::vector<std::string>& args,
                                                   std::string& error);

// The row for `gpus` in a scaling.json (an object with "results", or a bare
// list of rows); nullopt when there is none.
std::optional<Estimate> scaling_row(const nlohmann::json& scaling, int gpus);

// "2 h 03 min", "4 min 10 s", "12.5 s".
std::string format_duration(double seconds);

}  // namespace lb::hparam
