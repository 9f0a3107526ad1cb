#include "hparam/cost.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <ostream>

#include "hparam/cost_to_accuracy.hpp"
#include "hparam/process.hpp"
#include "hparam/runner.hpp"
#include "runtime/core/files.hpp"

namespace lb::hparam {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

std::optional<Estimate> simulate(const SweepConfig& sweep, const TrialRecord& t,
                                 const RunOptions& options, std::string& error) {
  const auto dir =
      run_simulator(sweep, t, options, {}, {"--gpus", std::to_string(sweep.target_gpus)}, error);
  if (!dir) return std::nullopt;
  try {
    auto row = scaling_row(json::parse(read_file(*dir / "scaling.json")), sweep.target_gpus);
    if (!row) error = "scaling.json has no row for " + std::to_string(sweep.target_gpus) + " GPUs";
    return row;
  } catch (const std::exception& e) {
    error = std::string("unreadable scaling.json: ") + e.what();
    return std::nullopt;
  }
}

}  // namespace

std::optional<fs::path> run_simulator(const SweepConfig& sweep, const TrialRecord& t,
                                      const RunOptions& options,
                                      const std::vector<std::string>& command,
                                      const std::vector<std::string>& args, std::string& error) {
  fs::path dir = options.out / "cost" / std::to_string(t.id);
  if (!command.empty()) dir /= command.front();  // a subcommand's outputs beside the plain run's
  fs::create_directories(dir);
  write_file_atomically(dir / "spec.json", full_run_spec(sweep, t.params).dump(2) + "\n");
  std::vector<std::string> argv{options.simulator.string()};
  argv.insert(argv.end(), command.begin(), command.end());
  argv.push_back((dir / "spec.json").string());
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--out", dir.string()});
  const ExitStatus status = run_to_completion(argv, dir / "stdout.log", dir / "stderr.log", 600);
  if (status.code != 0 || status.signal != 0) {
    error = status.describe() + ": " + last_line(dir / "stderr.log");
    return std::nullopt;
  }
  return dir;
}

std::optional<Estimate> scaling_row(const json& scaling, int gpus) {
  const json& rows = scaling.is_object() ? scaling.at("results") : scaling;
  for (const json& row : rows) {
    if (row.value("gpus", 0) != gpus) continue;
    Estimate e;
    e.gpus = gpus;
    e.time_to_train_s = row.at("time_to_train_s").get<double>();
    e.images_per_s = row.value("images_per_s", 0.0);
    e.efficiency = row.value("efficiency", 0.0);
    return e;
  }
  return std::nullopt;
}

std::string format_duration(double s) {
  char buf[64];
  if (!std::isfinite(s)) return "n/a";
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%d h %02d min", int(s / 3600), int(std::fmod(s, 3600) / 60));
  else if (s >= 60)
    std::snprintf(buf, sizeof buf, "%d min %02d s", int(s / 60), int(std::fmod(s, 60)));
  else
    std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

void estimate_costs(const SweepConfig& sweep, TrialStore& store,
                    const std::vector<TrialRecord>& final_trials, const RunOptions& options,
                    std::ostream& log) {
  if (sweep.target_gpus <= 0) {
    log << "cost estimate: skipped, the sweep file sets no target.gpus\n";
    return;
  }
  if (!sweep.target_convergence.empty() &&
      estimate_costs_to_accuracy(sweep, store, final_trials, options, log)) {
    return;  // time to accuracy instead of a fixed number of epochs
  }
  std::map<std::int64_t, Estimate> known;  // from an earlier run of this sweep: not simulated again
  for (const Estimate& e : store.estimates()) {
    if (e.gpus == sweep.target_gpus) known[e.trial_id] = e;
  }
  const bool all_known = std::all_of(final_trials.begin(), final_trials.end(),
                                     [&](const TrialRecord& t) { return known.count(t.id) > 0; });
  if (!all_known && !fs::exists(options.simulator)) {
    log << "cost estimate: skipped, simulator not found at " << options.simulator.string()
        << " (build simulate-scaling or pass --simulator PATH)\n";
    return;
  }
  log << "cost estimate of the full runs on " << sweep.target_gpus << " GPUs ("
      << (all_known ? std::string("stored") : options.simulator.filename().string()) << "):\n";
  for (const TrialRecord& t : final_trials) {
    std::string error;
    const auto e = known.count(t.id) ? std::optional<Estimate>(known[t.id])
                                     : simulate(sweep, t, options, error);
    if (!e) {
      log << "  trial " << t.id << ": no estimate (" << error << ")\n";
      continue;
    }
    Estimate stored = *e;
    stored.trial_id = t.id;
    store.set_estimate(stored);
    char line[160];
    std::snprintf(line, sizeof line, "%s, %.0f images/s, efficiency %.2f",
                  format_duration(e->time_to_train_s).c_str(), e->images_per_s, e->efficiency);
    log << "  trial " << t.id << ": " << line << "  " << short_params(t.params) << "\n";
  }
}

}  // namespace lb::hparam
