#include "hparam/cost_to_accuracy.hpp"

#include <cstdio>
#include <ostream>

#include "hparam/cost.hpp"
#include "hparam/process.hpp"
#include "hparam/runner.hpp"
#include "runtime/core/files.hpp"
#include "runtime/core/json_reader.hpp"
#include "runtime/core/spec.hpp"

namespace lb::hparam {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

// What the steps to a target depend on besides the batch: the trials a model
// is fitted to must agree on these with the full runs.
json convergence_key(const json& spec) {
  return {spec.at("model").at("name"),         spec.at("optimizer").at("name"),
          spec.at("optimizer").at("nesterov"), spec.at("train").at("precision"),
          spec.at("train").at("stop_at"),      spec.at("data").at("dataset"),
          spec.at("data").at("train_subset"),  spec.at("data").at("validation_images")};
}

std::vector<std::string> trials_at_target(const SweepConfig& sweep, const TrialStore& store,
                                          const TrialRecord& final_trial,
                                          const RunOptions& options) {
  const json want = convergence_key(to_json(parse_spec(full_run_spec(sweep, final_trial.params))));
  std::vector<std::string> dirs;
  for (const TrialRecord& t : store.trials()) {
    const fs::path dir = options.out / "trials" / std::to_string(t.id);
    std::error_code ec;
    if (!fs::exists(dir / "summary.json", ec)) continue;  // not finished: no measurement
    const json s = json::parse(read_file(dir / "summary.json"), nullptr, false);
    if (s.is_discarded() || !s.is_object() || !s.value("stopped_at_target", false)) continue;
    try {
      if (convergence_key(s.at("spec")) == want) dirs.push_back(dir.string());
    } catch (const json::exception&) {  // a summary without a resolved spec: not comparable
    }
  }
  return dirs;
}

// target.convergence "trials": simulate-scaling fit-convergence on them.
std::optional<fs::path> fit_to_trials(const SweepConfig& sweep, const TrialStore& store,
                                      const TrialRecord& final_trial, const RunOptions& options,
                                      std::ostream& log) {
  const std::vector<std::string> dirs = trials_at_target(sweep, store, final_trial, options);
  if (dirs.empty()) {
    log << "cost estimate: no trial stopped at a target training what the full runs train, so "
           "no convergence model; fixed-epoch estimate instead\n";
    return std::nullopt;
  }
  const fs::path dir = options.out / "cost" / "convergence";
  fs::create_directories(dir);
  std::vector<std::string> argv{options.simulator.string(), "fit-convergence"};
  argv.insert(argv.end(), dirs.begin(), dirs.end());
  argv.insert(argv.end(), {"--out", (dir / "convergence.json").string()});
  const ExitStatus status = run_to_completion(argv, dir / "stdout.log", dir / "stderr.log", 600);
  if (status.code != 0 || status.signal != 0) {
    log << "cost estimate: no convergence model from the " << dirs.size()
        << " trial(s) that stopped at a target (" << status.describe() << ": "
        << last_line(dir / "stderr.log") << "); fixed-epoch estimate instead\n";
    return std::nullopt;
  }
  log << "cost estimate: convergence model fitted to " << dirs.size()
      << " trial(s) that stopped at a target: " << (dir / "convergence.json").string() << "\n";
  return dir / "convergence.json";
}

// The plan row of trial `t` at its own global batch on the target cluster.
std::optional<json> plan_row(const SweepConfig& sweep, const TrialRecord& t,
                             const RunOptions& options, const fs::path& model, std::string& error) {
  const std::int64_t batch = parse_spec(full_run_spec(sweep, t.params)).train.global_batch;
  std::vector<std::string> args{
      "--convergence", model.string(),        "--gpus",   std::to_string(sweep.target_gpus),
      "--batches",     std::to_string(batch), "--no-plot"};
  if (sweep.target_price_per_gpu_hour > 0) {
    args.insert(args.end(),
                {"--price-per-gpu-hour", format_number(sweep.target_price_per_gpu_hour)});
  }
  const auto dir = run_simulator(sweep, t, options, {"plan"}, args, error);
  if (!dir) return std::nullopt;
  const json plan = json::parse(read_file(*dir / "plan.json"), nullptr, false);
  if (plan.is_discarded() || !plan.contains("rows")) {
    error = "unreadable plan.json";
  } else if (!plan["rows"].empty()) {
    json row = plan["rows"][0];
    row["target"] = plan.value("target", "");
    return row;
  } else {
    error = plan.value("skipped", json::array()).empty()
                ? "plan.json has no row"
                : plan["skipped"][0].value("reason", "skipped");
  }
  return std::nullopt;
}

std::string describe_row(const json& r) {
  char text[240];
  std::snprintf(
      text, sizeof text, "%s to %s (%lld steps at batch %lld%s), %.4g GPU-hours",
      format_duration(r.at("time_to_accuracy_s").get<double>()).c_str(),
      r.at("target").get<std::string>().c_str(), (long long)r.at("steps").get<std::int64_t>(),
      (long long)r.at("global_batch").get<std::int64_t>(),
      r.value("extrapolated", false) ? ", extrapolated" : "", r.at("gpu_hours").get<double>());
  std::string out = text;
  if (r.contains("cost") && r["cost"].is_number()) {
    std::snprintf(text, sizeof text, ", cost %.2f", r["cost"].get<double>());
    out += text;
  }
  return out;
}

}  // namespace

bool estimate_costs_to_accuracy(const SweepConfig& sweep, const TrialStore& store,
                                const std::vector<TrialRecord>& final_trials,
                                const RunOptions& options, std::ostream& log) {
  if (final_trials.empty()) return false;
  std::error_code ec;
  if (!fs::exists(options.simulator, ec)) return false;  // the caller says so
  const std::optional<fs::path> model =
      sweep.target_convergence == "trials"
          ? fit_to_trials(sweep, store, final_trials.front(), options, log)
          : std::optional<fs::path>(sweep.target_convergence);
  if (!model) return false;
  log << "cost estimate of the full runs on " << sweep.target_gpus
      << " GPUs, time to accuracy (simulate-scaling plan, convergence model " << model->string()
      << "):\n";
  for (const TrialRecord& t : final_trials) {
    std::string error;
    const auto row = plan_row(sweep, t, options, *model, error);
    log << "  trial " << t.id << ": " << (row ? describe_row(*row) : "no estimate (" + error + ")")
        << "  " << short_params(t.params) << "\n";
  }
  return true;
}

}  // namespace lb::hparam
