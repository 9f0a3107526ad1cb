#include "simulator/convergence_fit.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>

#include "runtime/core/choice.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/core/files.hpp"
#include "runtime/core/json_reader.hpp"
#include "runtime/core/stop_at.hpp"

namespace lb::sim {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

// Sum of squared log residuals at `b_crit`, with the best ln S_min for it.
double log_sse(const std::vector<ConvergencePoint>& points, double b_crit, double& log_s_min) {
  std::vector<double> shifted;
  for (const auto& p : points) shifted.push_back(std::log(p.steps) - std::log1p(b_crit / p.batch));
  log_s_min = std::accumulate(shifted.begin(), shifted.end(), 0.0) / double(shifted.size());
  double sse = 0;
  for (double x : shifted) sse += (x - log_s_min) * (x - log_s_min);
  return sse;
}

// Golden-section minimum of log_sse over ln B_crit in [lo, hi].
double golden_section(const std::vector<ConvergencePoint>& points, double lo, double hi) {
  const double ratio = (std::sqrt(5.0) - 1) / 2;
  double unused = 0;
  const auto f = [&](double u) { return log_sse(points, std::exp(u), unused); };
  for (int i = 0; i < 200 && hi - lo > 1e-12; ++i) {
    const double a = hi - ratio * (hi - lo), b = lo + ratio * (hi - lo);
    if (f(a) < f(b)) {
      hi = b;
    } else {
      lo = a;
    }
  }
  return (lo + hi) / 2;
}

// ---- reading runs ------------------------------------------------------------

// summary.json's value at `keys`, or an InputError naming the file and the key.
const json& at(const json& doc, std::initializer_list<const char*> keys, const fs::path& file) {
  const json* node = &doc;
  std::string path;
  for (const char* key : keys) {
    path = join_path(path, key);
    if (!node->is_object() || !node->contains(key)) {
      throw InputError("convergence error: " + file.string() + ": " + path +
                       ": missing (a summary.json of an lb-train with train.stop_at?)");
    }
    node = &(*node)[key];
  }
  return *node;
}

json read_json_object(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    throw InputError("convergence error: " + file.string() + ": cannot open (an unfinished run?)");
  }
  json doc = json::parse(read_file(file), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    throw InputError("convergence error: " + file.string() + ": expected a JSON object");
  }
  return doc;
}

StopAtSpec read_summary_target(const json& summary, const fs::path& file) {
  const json& target = at(summary, {"target"}, file);
  if (target.is_null()) {
    throw InputError("convergence error: " + file.string() +
                     ": target: null (the run had no train.stop_at, so no steps to a target)");
  }
  StopAtSpec stop;
  try {
    read_stop_at(ObjectReader(json{{at(target, {"metric"}, file).get<std::string>(),
                                    at(target, {"value"}, file)}},
                              "target"),
                 stop);
  } catch (const std::exception&) {  // SpecError, or a type error of the fields
    throw InputError("convergence error: " + file.string() +
                     ": target: not a train.stop_at target: " + brief(target));
  }
  return stop;
}

// A field that all runs of one fit must share.
void check_same(const std::string& what, const std::string& first, const std::string& value,
                const fs::path& first_dir, const fs::path& dir) {
  if (first == value) return;
  throw InputError("convergence error: " + (dir / "summary.json").string() + ": " + what + " " +
                   value + ", but " + first_dir.string() + " has " + first +
                   ": fit one configuration at a time");
}

void check_consistent(const std::vector<TargetRun>& runs) {
  const TargetRun& a = runs.front();
  for (const TargetRun& r : runs) {
    check_same("target", describe(a.target), describe(r.target), a.dir, r.dir);
    check_same("optimizer", a.optimizer, r.optimizer, a.dir, r.dir);
    check_same("precision", a.precision, r.precision, a.dir, r.dir);
    check_same("model", a.model, r.model, a.dir, r.dir);
    check_same("data", a.data, r.data, a.dir, r.dir);
  }
}

// Per batch, the run that reached the target in the fewest steps.
std::map<std::int64_t, const TargetRun*> best_per_batch(const std::vector<TargetRun>& runs) {
  std::map<std::int64_t, const TargetRun*> best;
  for (const TargetRun& r : runs) {
    if (!r.steps_to_target) continue;
    const TargetRun*& b = best[r.batch];
    if (b == nullptr || *r.steps_to_target < *b->steps_to_target) b = &r;
  }
  return best;
}

ConvergenceModel model_of(const TargetRun& r, const std::string& method) {
  ConvergenceModel m;
  m.target = r.target;
  m.optimizer = r.optimizer;
  m.precision = r.precision;
  m.model = r.model;
  m.dataset = r.dataset;
  m.method = method;
  return m;
}

std::string fit_warning(StepsFit::Bound bound, double b_crit) {
  char text[320];
  if (bound == StepsFit::Bound::lower) {
    std::snprintf(text, sizeof text,
                  "the steps do not fall with the batch over the measured range: B_crit is at the "
                  "lower end of the search (%.3g), S(B) = S_min everywhere",
                  b_crit);
  } else {
    std::snprintf(text, sizeof text,
                  "the steps fall as 1/B or faster over the measured range (perfect scaling): "
                  "B_crit is at the upper end of the search (%.3g) and only bounded below; "
                  "measure larger batches",
                  b_crit);
  }
  return text;
}

// ---- the noise-scale estimate ------------------------------------------------

struct NoiseReading {
  double b_simple = 0;
  std::int64_t step = 0;
};

// The last noise-scale row with a b_simple at or before `step`.
std::optional<NoiseReading> noise_at(const fs::path& metrics, std::int64_t step) {
  std::ifstream in(metrics);
  if (!in) throw InputError("convergence error: " + metrics.string() + ": cannot open");
  std::optional<NoiseReading> last;
  std::string line;
  while (std::getline(in, line)) {
    const json row = json::parse(line, nullptr, false);  // a line cut short by a kill: skipped
    if (row.is_discarded() || !row.is_object() || row.value("type", "") != "noise_scale") continue;
    const json& b = row.contains("b_simple") ? row["b_simple"] : json();
    if (!b.is_number() || !row.contains("step") || !row["step"].is_number_integer()) continue;
    if (row["step"].get<std::int64_t>() > step) break;
    if (b.get<double>() > 0) last = NoiseReading{b.get<double>(), row["step"].get<std::int64_t>()};
  }
  return last;
}

std::string format_steps(double steps) {
  char text[32];
  std::snprintf(text, sizeof text, "%.0f", steps);
  return text;
}

}  // namespace

StepsFit fit_steps_to_target(const std::vector<ConvergencePoint>& points) {
  std::set<double> batches;
  for (const auto& p : points) batches.insert(p.batch);
  if (batches.size() < 2 || batches.size() != points.size()) {
    throw InputError(
        "fit-convergence: need steps to target at 2 or more distinct batch sizes, got " +
        std::to_string(batches.size()));
  }
  const double lo = std::log(*batches.begin() / 1e4), hi = std::log(*batches.rbegin() * 1e4);
  const int n = 4000;
  double unused = 0;
  int best = 0;
  std::vector<double> sse(n + 1);
  for (int i = 0; i <= n; ++i) {
    sse[i] = log_sse(points, std::exp(lo + (hi - lo) * i / n), unused);
    if (sse[i] < sse[best]) best = i;
  }
  const double step = (hi - lo) / n;
  const double u =
      golden_section(points, lo + step * std::max(0, best - 1), lo + step * std::min(n, best + 1));
  StepsFit fit;
  fit.b_crit = std::exp(u);
  double log_s_min = 0;
  fit.rms_log_residual = std::sqrt(log_sse(points, fit.b_crit, log_s_min) / double(points.size()));
  fit.s_min = std::exp(log_s_min);
  for (const auto& p : points) fit.fitted_steps.push_back(fit.s_min * (1 + fit.b_crit / p.batch));
  if (best == 0) fit.bound = StepsFit::Bound::lower;
  if (best == n) fit.bound = StepsFit::Bound::upper;
  return fit;
}

TargetRun read_target_run(const fs::path& dir) {
  const fs::path file = dir / "summary.json";
  const json s = read_json_object(file);
  TargetRun r;
  r.dir = dir;
  try {
    r.target = read_summary_target(s, file);
    r.batch = at(s, {"spec", "train", "global_batch"}, file).get<std::int64_t>();
    r.steps = at(s, {"steps"}, file).get<std::int64_t>();
    const bool stopped = at(s, {"stopped_at_target"}, file).get<bool>();
    if (stopped) r.steps_to_target = at(s, {"steps_to_target"}, file).get<std::int64_t>();
    OptimizerSpec optimizer;
    const std::string name = at(s, {"spec", "optimizer", "name"}, file).get<std::string>();
    const std::optional<OptimizerKind> kind = parse_choice<OptimizerKind>(name);
    if (!kind) {
      throw InputError("convergence error: " + file.string() +
                       ": spec.optimizer.name: unknown optimizer \"" + name + "\"");
    }
    optimizer.name = *kind;
    optimizer.nesterov = at(s, {"spec", "optimizer", "nesterov"}, file).get<bool>();
    r.optimizer = optimizer_label(optimizer);
    r.precision = at(s, {"spec", "train", "precision"}, file).get<std::string>();
    r.model = at(s, {"spec", "model", "name"}, file).get<std::string>();
    r.dataset = at(s, {"spec", "data", "dataset"}, file).get<std::string>();
    r.data = r.dataset + ", train_subset " + at(s, {"spec", "data", "train_subset"}, file).dump() +
             ", validation_images " + at(s, {"spec", "data", "validation_images"}, file).dump();
  } catch (const json::exception& e) {
    throw InputError("convergence error: " + file.string() + ": unexpected value type (" +
                     e.what() + ")");
  }
  return r;
}

ConvergenceFit fit_convergence(const std::vector<fs::path>& dirs) {
  if (dirs.empty()) throw InputError("fit-convergence: expected one or more run directories");
  ConvergenceFit out;
  for (const fs::path& d : dirs) out.runs.push_back(read_target_run(d));
  check_consistent(out.runs);
  std::vector<ConvergencePoint> points;
  for (const auto& [batch, run] : best_per_batch(out.runs)) {
    points.push_back(
        {double(batch), double(*run->steps_to_target), std::nullopt, run->dir.string()});
  }
  const StepsFit fit = fit_steps_to_target(points);
  ConvergenceModel& m = out.model = model_of(out.runs.front(), "steps_to_target_fit");
  m.s_min = fit.s_min;
  m.b_crit = fit.b_crit;
  m.batch_min = points.front().batch;
  m.batch_max = points.back().batch;
  for (std::size_t i = 0; i < points.size(); ++i) points[i].fitted_steps = fit.fitted_steps[i];
  m.points = points;
  m.rms_log_residual = fit.rms_log_residual;
  m.source = "simulate-scaling fit-convergence of " + std::to_string(dirs.size()) +
             " lb-train runs (fewest steps to the target per batch, least squares in log space)";
  if (fit.bound != StepsFit::Bound::none)
    out.warnings.push_back(fit_warning(fit.bound, fit.b_crit));
  if (points.size() == 2) {
    out.warnings.push_back(
        "2 batches for 2 parameters: the fit is exact and its residuals say "
        "nothing; measure a third batch to check the model");
  }
  return out;
}

ConvergenceFit convergence_from_noise_scale(const fs::path& dir) {
  ConvergenceFit out;
  out.runs.push_back(read_target_run(dir));
  const TargetRun& r = out.runs.front();
  if (!r.steps_to_target) {
    throw InputError("convergence error: " + (dir / "summary.json").string() +
                     ": stopped_at_target: false (the run hit its step cap, so there are no steps "
                     "to the target to anchor S_min)");
  }
  const auto noise = noise_at(dir / "metrics.jsonl", *r.steps_to_target);
  if (!noise) {
    throw InputError("convergence error: " + (dir / "metrics.jsonl").string() +
                     ": no \"noise_scale\" row with a b_simple at or before step " +
                     std::to_string(*r.steps_to_target) + " (train.noise_scale_every 0?)");
  }
  ConvergenceModel& m = out.model = model_of(r, "noise_scale");
  m.b_crit = noise->b_simple;
  m.s_min = double(*r.steps_to_target) / (1 + m.b_crit / double(r.batch));
  m.batch_min = m.batch_max = double(r.batch);
  m.points = {
      {double(r.batch), double(*r.steps_to_target), m.steps(double(r.batch)), dir.string()}};
  char text[400];
  std::snprintf(text, sizeof text,
                "simulate-scaling fit-convergence --noise-scale %s: B_crit = B_simple %.1f (its "
                "smoothed value at step %lld), S_min = %lld steps to target at batch %lld / (1 + "
                "B_crit / batch). The cheaper, rougher estimate (McCandlish et al. 2018)",
                dir.string().c_str(), noise->b_simple, (long long)noise->step,
                (long long)*r.steps_to_target, (long long)r.batch);
  m.source = text;
  out.warnings.push_back(
      "B_simple only approximates B_crit (McCandlish et al. 2018: it can "
      "overestimate it); one batch measured, so every other batch extrapolates");
  return out;
}

std::string describe(const ConvergenceFit& fit) {
  const ConvergenceModel& m = fit.model;
  std::ostringstream out;
  out << "# " << fit.runs.size() << " run(s), target " << describe(m.target) << ", " << m.model
      << ", " << m.optimizer << ", " << m.precision << ", method " << m.method << "\n";
  char line[400];
  std::snprintf(line, sizeof line, "%8s %5s %8s %10s %10s %9s  %s\n", "batch", "runs", "reached",
                "steps", "fitted", "residual", "best run");
  out << line;
  std::map<std::int64_t, std::pair<int, int>> counts;  // batch -> runs, reached
  for (const TargetRun& r : fit.runs) {
    ++counts[r.batch].first;
    if (r.steps_to_target) ++counts[r.batch].second;
  }
  for (const auto& [batch, count] : counts) {
    const auto p = std::find_if(m.points.begin(), m.points.end(), [&](const ConvergencePoint& q) {
      return q.batch == double(batch);
    });
    if (p == m.points.end()) {
      std::snprintf(line, sizeof line, "%8lld %5d %8d %10s %10s %9s  (none reached the target)\n",
                    (long long)batch, count.first, count.second, "-", "-", "-");
    } else {
      const double fitted = p->fitted_steps.value_or(p->steps);
      std::snprintf(line, sizeof line, "%8lld %5d %8d %10s %10.1f %+8.1f%%  %s\n", (long long)batch,
                    count.first, count.second, format_steps(p->steps).c_str(), fitted,
                    100 * (p->steps / fitted - 1), p->label.c_str());
    }
    out << line;
  }
  std::snprintf(line, sizeof line,
                "S_min %.1f steps, B_crit %.1f images, E_min %.4g images; batches %g-%g", m.s_min,
                m.b_crit, m.e_min(), m.batch_min, m.batch_max);
  out << line;
  if (m.rms_log_residual) {
    std::snprintf(line, sizeof line, "; rms log residual %.4f", *m.rms_log_residual);
    out << line;
  }
  out << "\n";
  for (const std::string& w : fit.warnings) out << "warning: " << w << "\n";
  return out.str();
}

}  // namespace lb::sim
