#include "hparam/report.hpp"

#include <cmath>
#include <cstdio>
#include <map>
#include <ostream>
#include <set>
#include <sstream>

#include "hparam/cost.hpp"
#include "hparam/process.hpp"
#include "hparam/runner.hpp"
#include "hparam/store.hpp"
#include "hparam/strategy.hpp"
#include "hparam/text.hpp"
#include "runtime/core/files.hpp"
#include "runtime/core/json_reader.hpp"

namespace lb::hparam {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

std::string num(std::optional<double> v, int digits = 4) {
  if (!v || std::isnan(*v)) return "";
  return fixed(*v, digits);
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::vector<std::string> param_keys(const std::vector<TrialRecord>& trials) {
  std::set<std::string> keys;
  for (const TrialRecord& t : trials) {
    for (const auto& [k, v] : t.params.items()) keys.insert(k);
  }
  return {keys.begin(), keys.end()};
}

struct StageRow {
  std::string name;
  int trials = 0, done = 0, pruned = 0, failed = 0, running = 0, pending = 0;
  double epochs = 0, wall_s = 0;
  std::optional<double> best;
  std::int64_t best_id = 0;
};

std::vector<StageRow> stage_rows(const std::vector<TrialRecord>& trials, Goal goal) {
  std::map<int, StageRow> rows;
  for (const TrialRecord& t : trials) {
    StageRow& r = rows[t.stage];
    r.name = t.stage_name;
    ++r.trials;
    r.done += t.status == Status::done;
    r.pruned += t.status == Status::pruned;
    r.failed += t.status == Status::failed;
    r.running += t.status == Status::running;
    r.pending += t.status == Status::pending;
    r.epochs += t.epochs_run();
    r.wall_s += t.wall_s;
    if (t.status == Status::done && t.objective &&
        (!r.best || better(*t.objective, *r.best, goal))) {
      r.best = t.objective;
      r.best_id = t.id;
    }
  }
  std::vector<StageRow> out;
  for (auto& [s, r] : rows) out.push_back(r);
  return out;
}

// A sweep stores its objective; one made before validation objectives
// existed may not, and then it was test_accuracy.
std::string objective_of(const json& sweep) { return sweep.value("objective", "test_accuracy"); }

Goal goal_of(const json& sweep) { return objective_goal(objective_of(sweep)); }

// The keys the sweep searches on a log scale: the report plots them on log axes.
std::vector<std::string> log_scale_params(const json& sweep) {
  std::vector<std::string> keys;
  if (!sweep.contains("space") || !sweep["space"].is_object()) return keys;
  for (const auto& [key, param] : sweep["space"].items()) {
    if (param.is_object() && param.value("scale", "") == "log") keys.push_back(key);
  }
  return keys;
}

void stage_table(const std::vector<StageRow>& rows, std::ostream& out, bool markdown) {
  const char* fmt = markdown ? "| %s | %d | %d | %d | %d | %d | %d | %.1f | %.0f | %s |\n"
                             : "%-12s %6d %5d %6d %6d %7d %7d %9.1f %8.0f  %s\n";
  if (markdown)
    out << "| stage | trials | done | pruned | failed | running | pending | trial-epochs | trial "
           "wall s | best |\n|---|---|---|---|---|---|---|---|---|---|\n";
  else
    out << "stage        trials  done pruned failed running pending  trial-ep   wall s  best\n";
  for (const StageRow& r : rows) {
    const std::string best =
        r.best ? num(r.best) + " (trial " + std::to_string(r.best_id) + ")" : "-";
    char line[512];
    std::snprintf(line, sizeof line, fmt, r.name.c_str(), r.trials, r.done, r.pruned, r.failed,
                  r.running, r.pending, r.epochs, r.wall_s, best.c_str());
    out << line;
  }
}

}  // namespace

void print_status(const fs::path& dir, std::ostream& out) {
  TrialStore store(dir / "sweep.db", /*read_only=*/true);
  const json sweep = store.sweep();
  const auto trials = store.trials();
  out << "sweep " << sweep.value("name", "sweep") << " in " << dir.string() << ", objective "
      << objective_of(sweep) << "\n\n";
  stage_table(stage_rows(trials, goal_of(sweep)), out, false);
  out << "\n   id stage        status   epochs  objective  test_acc   wall s  params / reason\n";
  for (const TrialRecord& t : trials) {
    char line[256];
    std::snprintf(line, sizeof line, "%5lld %-12s %-8s %6.2f %10s %9s %8.1f  ",
                  static_cast<long long>(t.id), t.stage_name.c_str(), to_string(t.status).c_str(),
                  t.epochs_done, num(t.objective).c_str(), num(t.test_accuracy).c_str(), t.wall_s);
    out << line << short_params(t.params);
    if (t.source_trial > 0) out << "  (from trial " << t.source_trial << ")";
    if (!t.reason.empty() && (t.status != Status::done || t.carried()))
      out << "  [" << t.reason << "]";
    out << "\n";
  }
  for (const Estimate& e : store.estimates()) {
    out << "estimate: trial " << e.trial_id << " on " << e.gpus
        << " GPUs: " << format_duration(e.time_to_train_s) << "\n";
  }
}

void write_trials_csv(const fs::path& dir, std::ostream& out) {
  TrialStore store(dir / "sweep.db", true);
  const auto trials = store.trials();
  const auto keys = param_keys(trials);
  std::map<std::int64_t, Estimate> estimates;
  for (const Estimate& e : store.estimates()) estimates[e.trial_id] = e;
  out << "id,stage,stage_name,status,objective,test_accuracy,epochs_done,epochs_run,budget_epochs,"
         "wall_s,attempts,finished_at,source_trial";
  for (const std::string& k : keys) out << "," << k;
  out << ",estimated_time_to_train_s,reason,command\n";
  for (const TrialRecord& t : trials) {
    out << t.id << "," << t.stage << "," << csv_field(t.stage_name) << "," << to_string(t.status)
        << "," << num(t.objective, 6) << "," << num(t.test_accuracy, 6) << "," << t.epochs_done
        << "," << t.epochs_run() << "," << t.budget_epochs << "," << num(t.wall_s, 3) << ","
        << t.attempts << "," << num(t.finished_at, 3) << ","
        << (t.source_trial > 0 ? std::to_string(t.source_trial) : "");
    for (const std::string& k : keys)
      out << "," << (t.params.contains(k) ? csv_field(t.params[k].dump()) : "");
    out << "," << (estimates.count(t.id) ? num(estimates[t.id].time_to_train_s, 1) : "") << ","
        << csv_field(t.reason) << "," << csv_field(t.command) << "\n";
  }
}

void write_evals_csv(const fs::path& dir, std::ostream& out) {
  TrialStore store(dir / "sweep.db", true);
  std::map<std::int64_t, int> stage_of;
  for (const TrialRecord& t : store.trials()) stage_of[t.id] = t.stage;
  out << "trial_id,stage,epoch,value\n";
  for (const EvalRecord& e : store.evals()) {
    out << e.trial_id << "," << stage_of[e.trial_id] << "," << e.epoch << "," << num(e.value, 6)
        << "\n";
  }
}

bool write_report(const fs::path& dir, const fs::path& analysis_dir, std::ostream& log) {
  const fs::path report = dir / "report";
  fs::create_directories(report);
  std::ostringstream trials_csv, evals_csv;
  write_trials_csv(dir, trials_csv);
  write_evals_csv(dir, evals_csv);
  write_file_atomically(report / "trials.csv", trials_csv.str());
  write_file_atomically(report / "evals.csv", evals_csv.str());

  TrialStore store(dir / "sweep.db", true);
  const json sweep = store.sweep();
  const auto trials = store.trials();
  const Goal goal = goal_of(sweep);
  const std::string objective = objective_of(sweep);
  const auto script = analysis_dir / "hparam_report.py";
  std::vector<std::string> argv{"/usr/bin/python3", script.string(), report.string(), objective};
  for (const std::string& key : log_scale_params(sweep)) argv.insert(argv.end(), {"--log", key});
  const ExitStatus plotted =
      run_to_completion(argv, report / "plot.stdout.log", report / "plot.log", 300);
  const bool plots_ok = plotted.code == 0 && plotted.signal == 0;

  std::ostringstream md;
  md << "# Sweep " << sweep.value("name", "sweep") << "\n\nObjective: `" << objective << "` ("
     << (goal == Goal::maximize ? "higher" : "lower") << " is better). Directory: `" << dir.string()
     << "`.\n\n";
  stage_table(stage_rows(trials, goal), md, true);
  std::vector<TrialRecord> ranked;
  for (int s = 0; s < 64; ++s) {
    auto r = rank_trials(store.trials(s), goal);
    if (!r.empty()) ranked = r;  // the last stage with results
  }
  md << "\n## Best configurations (last stage with results)\n\nRanked by `" << objective
     << "`; `test_accuracy` is reported, never used to choose"
     << (is_test_objective(objective) ? " (except here: allow_test_objective)" : "")
     << ".\n\n| trial | stage | status | " << objective
     << " | test_accuracy | epochs | from trial | params |\n|---|---|---|---|---|---|---|---|\n";
  for (std::size_t i = 0; i < ranked.size() && i < 10; ++i) {
    const TrialRecord& t = ranked[i];
    md << "| " << t.id << " | " << t.stage_name << " | " << to_string(t.status) << " | "
       << num(t.objective) << " | " << num(t.test_accuracy) << " | " << t.epochs_done << " | "
       << (t.source_trial > 0 ? std::to_string(t.source_trial) : "-") << " | `"
       << short_params(t.params) << "` |\n";
  }
  const auto estimates = store.estimates();
  if (!estimates.empty()) {
    md << "\n## Estimated cost of the full runs (simulate-scaling)\n\n| trial | GPUs | time to "
          "train | images/s | efficiency |\n|---|---|---|---|---|\n";
    for (const Estimate& e : estimates) {
      md << "| " << e.trial_id << " | " << e.gpus << " | " << format_duration(e.time_to_train_s)
         << " | " << num(e.images_per_s, 0) << " | " << num(e.efficiency, 2) << " |\n";
    }
  }
  int failed = 0;
  for (const TrialRecord& t : trials) failed += t.status == Status::failed;
  if (failed > 0) {
    md << "\n## Failed trials\n\n";
    for (const TrialRecord& t : trials) {
      if (t.status == Status::failed)
        md << "- trial " << t.id << " (" << t.stage_name << "): " << t.reason << "\n";
    }
  }
  md << "\n## Plots\n\n";
  if (plots_ok) {
    md << "![objective against each parameter, per stage](objective_vs_params.png)\n\n"
       << "![best so far against compute spent](best_so_far.png)\n\n"
       << "![per-epoch evaluations](learning_curves.png)\n";
  } else {
    md << "Plots could not be drawn (" << plotted.describe() << "): see `plot.log`.\n";
  }
  write_file_atomically(report / "report.md", md.str());
  log << "report: " << (report / "report.md").string()
      << (plots_ok ? " with plots" : " (no plots: " + last_line(report / "plot.log") + ")") << "\n";
  return plots_ok;
}

}  // namespace lb::hparam
