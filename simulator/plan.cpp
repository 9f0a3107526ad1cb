#include "simulator/plan.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>
#include <sstream>

#include "runtime/core/errors.hpp"

namespace lb::sim {
namespace {

using json = nlohmann::json;

// Where the convergence model was measured under other conditions than the
// spec trains with: its steps may not hold.
std::vector<std::string> mismatches(const Spec& spec, const ConvergenceModel& m) {
  std::vector<std::string> out;
  const auto differ = [&](const char* what, const std::string& model, const std::string& ours) {
    if (model == ours) return;
    out.push_back("the convergence model is for " + std::string(what) + " " + model +
                  ", the spec trains " + ours + ": its steps to target may not hold");
  };
  differ("model", m.model, spec.model.name);
  differ("optimizer", m.optimizer, optimizer_label(spec.optimizer));
  differ("precision", m.precision, std::string(to_string(spec.train.precision)));
  return out;
}

Scenario at_batch(const Scenario& s, std::int64_t batch) {
  Scenario out = s;
  out.spec.train.global_batch = batch;
  return out;
}

PlanRow plan_row(const Scenario& s, const ConvergenceModel& m, const ScalingRow& step,
                 std::optional<double> price) {
  PlanRow r;
  r.gpus = step.gpus;
  r.global_batch = s.spec.train.global_batch;
  r.per_gpu_batch = double(r.global_batch) / r.gpus;
  // Whole steps; a model written to a few digits may land a hair above an integer.
  r.steps = std::int64_t(std::ceil(m.steps(double(r.global_batch)) * (1 - 1e-6)));
  r.epochs = double(r.steps) * double(r.global_batch) /
             double(std::max<std::int64_t>(1, s.model.train_images));
  r.iteration_s = step.iteration_s;
  r.images_per_s = step.images_per_s;
  r.efficiency = step.efficiency;
  r.time_to_accuracy_s = double(r.steps) * step.iteration_s;
  r.gpu_hours = r.gpus * r.time_to_accuracy_s / 3600;
  if (price) r.cost = r.gpu_hours * *price;
  r.extrapolated = m.extrapolated(double(r.global_batch));
  return r;
}

void sort_and_mark_front(std::vector<PlanRow>& rows) {
  std::sort(rows.begin(), rows.end(), [](const PlanRow& a, const PlanRow& b) {
    if (a.time_to_accuracy_s != b.time_to_accuracy_s)
      return a.time_to_accuracy_s < b.time_to_accuracy_s;
    return a.gpu_hours < b.gpu_hours;
  });
  double cheapest_so_far = std::numeric_limits<double>::infinity();  // among faster rows
  for (PlanRow& r : rows) {
    r.pareto = r.gpu_hours < cheapest_so_far;
    cheapest_so_far = std::min(cheapest_so_far, r.gpu_hours);
  }
}

// Picks among the rows at `indices` (sorted by time, so the first is the fastest).
std::optional<PlanPicks> pick(const std::vector<PlanRow>& rows,
                              const std::vector<std::size_t>& indices) {
  if (indices.empty()) return std::nullopt;
  PlanPicks p;
  p.fastest = p.cheapest = p.cheapest_near_fastest = indices.front();
  const double limit = rows[p.fastest].time_to_accuracy_s * (1 + kNearFastest);
  for (std::size_t i : indices) {
    if (rows[i].gpu_hours < rows[p.cheapest].gpu_hours) p.cheapest = i;
    if (rows[i].time_to_accuracy_s <= limit &&
        rows[i].gpu_hours < rows[p.cheapest_near_fastest].gpu_hours) {
      p.cheapest_near_fastest = i;
    }
  }
  return p;
}

void add_picks(Plan& plan) {
  std::vector<std::size_t> all, in_range;
  for (std::size_t i = 0; i < plan.rows.size(); ++i) {
    all.push_back(i);
    if (!plan.rows[i].extrapolated) in_range.push_back(i);
  }
  plan.picks = pick(plan.rows, all);
  if (!plan.picks) return;
  const PlanPicks& p = *plan.picks;
  if (plan.rows[p.fastest].extrapolated || plan.rows[p.cheapest].extrapolated ||
      plan.rows[p.cheapest_near_fastest].extrapolated) {
    plan.picks_in_range = pick(plan.rows, in_range);
  }
}

std::string duration_text(double seconds) {
  char text[32];
  if (seconds >= 7200) {
    std::snprintf(text, sizeof text, "%.2f h", seconds / 3600);
  } else if (seconds >= 120) {
    std::snprintf(text, sizeof text, "%.1f min", seconds / 60);
  } else {
    std::snprintf(text, sizeof text, "%.1f s", seconds);
  }
  return text;
}

std::string row_summary(const Plan& plan, std::size_t i) {
  const PlanRow& r = plan.rows[i];
  char text[200];
  std::snprintf(text, sizeof text,
                "%d GPUs x batch %lld (%g per GPU, %lld steps): %s, %.4g GPU-hours", r.gpus,
                (long long)r.global_batch, r.per_gpu_batch, (long long)r.steps,
                duration_text(r.time_to_accuracy_s).c_str(), r.gpu_hours);
  std::string out = text;
  if (r.cost) {
    std::snprintf(text, sizeof text, ", cost %.2f", *r.cost);
    out += text;
  }
  if (r.extrapolated) out += " (extrapolated)";
  return out;
}

std::string picks_line(const Plan& plan, const PlanPicks& p) {
  return "fastest " + row_summary(plan, p.fastest) + "; cheapest " + row_summary(plan, p.cheapest) +
         "; cheapest within " + std::to_string(int(kNearFastest * 100)) + " % of the fastest " +
         row_summary(plan, p.cheapest_near_fastest);
}

json optional_json(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

json row_json(const PlanRow& r) {
  return {{"gpus", r.gpus},
          {"global_batch", r.global_batch},
          {"per_gpu_batch", r.per_gpu_batch},
          {"steps", r.steps},
          {"epochs", r.epochs},
          {"iteration_s", r.iteration_s},
          {"images_per_s", r.images_per_s},
          {"efficiency", r.efficiency},
          {"time_to_accuracy_s", r.time_to_accuracy_s},
          {"gpu_hours", r.gpu_hours},
          {"cost", optional_json(r.cost)},
          {"fits_memory", r.fits_memory ? json(*r.fits_memory) : json(nullptr)},
          {"extrapolated", r.extrapolated},
          {"pareto", r.pareto}};
}

json picks_json(const Plan& plan, const std::optional<PlanPicks>& p) {
  if (!p) return nullptr;
  return {{"fastest", row_json(plan.rows[p->fastest])},
          {"cheapest", row_json(plan.rows[p->cheapest])},
          {"cheapest_within_10pct_of_fastest", row_json(plan.rows[p->cheapest_near_fastest])}};
}

std::string whole(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.0f", value);
  return text;
}

std::string header(const Plan& plan) {
  const ConvergenceModel& m = plan.convergence;
  std::ostringstream out;
  out << "# plan " << plan.spec_name << ": " << plan.model << " on " << plan.gpu << ", to "
      << describe(m.target) << "; convergence model (" << m.method << ", " << m.model << ", "
      << m.optimizer << ", " << m.precision << "): S_min " << whole(m.s_min) << " steps, B_crit "
      << whole(m.b_crit) << ", measured at batches " << whole(m.batch_min) << "-"
      << whole(m.batch_max) << "; compute: " << plan.compute_source << "\n";
  for (const std::string& w : plan.warnings) out << "warning: " << w << "\n";
  return out.str();
}

struct Runnable {
  Scenario scenario;  // at the pair's global batch
  int gpus = 0;
  std::optional<bool> fits;
};

// The pairs that divide and fit, every check made before any simulation (bad
// input fails first); the others go to plan.skipped, unknown memory to warnings.
std::vector<Runnable> runnable_pairs(const Scenario& s, const PlanRequest& request,
                                     const PlanHooks& hooks, Plan& plan) {
  std::vector<Runnable> runnable;
  std::set<std::string> memory_notes;
  for (std::int64_t batch : request.batches) {
    if (batch < 1)
      throw InputError("--batches: expected global batches >= 1, got " + std::to_string(batch));
    const Scenario sb = at_batch(s, batch);
    for (int gpus : request.gpus) {
      if (gpus < 1)
        throw InputError("--gpus: expected GPU counts >= 1, got " + std::to_string(gpus));
      if (batch % gpus != 0) {
        plan.skipped.push_back({gpus, batch, "the GPU count does not divide the batch"});
        continue;
      }
      hooks.check(sb, gpus);
      const MemoryFit fit = hooks.memory(sb, gpus);
      if (fit.fits == false) {
        plan.skipped.push_back({gpus, batch, "does not fit in memory: " + fit.note});
        continue;
      }
      if (!fit.fits) memory_notes.insert(fit.note);
      runnable.push_back({sb, gpus, fit.fits});
    }
  }
  plan.warnings.insert(plan.warnings.end(), memory_notes.begin(), memory_notes.end());
  return runnable;
}

}  // namespace

Plan make_plan(const Scenario& s, const ConvergenceModel& model, const PlanRequest& request,
               const PlanHooks& hooks) {
  Plan plan;
  plan.spec_name = s.spec.name;
  plan.model = s.model.name;
  plan.gpu = s.spec.cluster.gpu;
  plan.compute_source = s.compute.source;
  plan.convergence = model;
  plan.price_per_gpu_hour = request.price_per_gpu_hour;
  plan.warnings = mismatches(s.spec, model);
  for (const Runnable& r : runnable_pairs(s, request, hooks, plan)) {
    PlanRow row =
        plan_row(r.scenario, model, hooks.step(r.scenario, r.gpus), request.price_per_gpu_hour);
    row.fits_memory = r.fits;
    plan.rows.push_back(row);
  }
  sort_and_mark_front(plan.rows);
  add_picks(plan);
  return plan;
}

std::vector<std::int64_t> default_plan_batches(const ConvergenceModel& model,
                                               std::int64_t spec_batch) {
  std::set<std::int64_t> batches{spec_batch};
  for (std::int64_t b = 1; b <= std::int64_t(2 * model.batch_max) && b < (std::int64_t(1) << 40);
       b *= 2) {
    if (double(b) >= model.batch_min / 2) batches.insert(b);
  }
  return {batches.begin(), batches.end()};
}

json to_json(const Plan& plan) {
  json rows = json::array(), skipped = json::array();
  for (const PlanRow& r : plan.rows) rows.push_back(row_json(r));
  for (const SkippedPair& p : plan.skipped) {
    skipped.push_back({{"gpus", p.gpus}, {"global_batch", p.global_batch}, {"reason", p.reason}});
  }
  return {{"spec", plan.spec_name},
          {"model", plan.model},
          {"gpu", plan.gpu},
          {"compute_model", plan.compute_source},
          {"convergence", to_json(plan.convergence)},
          {"target", describe(plan.convergence.target)},
          {"price_per_gpu_hour", optional_json(plan.price_per_gpu_hour)},
          {"rows", rows},
          {"skipped", skipped},
          {"recommendation", picks_json(plan, plan.picks)},
          {"recommendation_within_measured_batches", picks_json(plan, plan.picks_in_range)},
          {"warnings", plan.warnings}};
}

std::string plan_csv(const Plan& plan) {
  std::ostringstream out;
  out << "gpus,global_batch,per_gpu_batch,steps,epochs,iteration_s,images_per_s,efficiency,"
         "time_to_accuracy_s,gpu_hours,cost,fits_memory,extrapolated,pareto\n";
  for (const PlanRow& r : plan.rows) {
    out << r.gpus << ',' << r.global_batch << ',' << r.per_gpu_batch << ',' << r.steps << ','
        << r.epochs << ',' << r.iteration_s << ',' << r.images_per_s << ',' << r.efficiency << ','
        << r.time_to_accuracy_s << ',' << r.gpu_hours << ',';
    if (r.cost) out << *r.cost;
    out << ',';
    if (r.fits_memory) out << (*r.fits_memory ? "true" : "false");
    out << ',' << (r.extrapolated ? "true" : "false") << ',' << (r.pareto ? "true" : "false")
        << '\n';
  }
  return out.str();
}

std::string describe(const Plan& plan) {
  std::ostringstream out;
  out << header(plan);
  char line[300];
  std::snprintf(line, sizeof line, "%6s %9s %9s %8s %8s %11s %7s %12s %11s %10s  %s\n", "gpus",
                "batch", "batch/gpu", "steps", "epochs", "iteration_s", "eff", "time_to_acc",
                "gpu_hours", "cost", "notes");
  out << line;
  for (const PlanRow& r : plan.rows) {
    char cost_text[32];
    if (r.cost) std::snprintf(cost_text, sizeof cost_text, "%.2f", *r.cost);
    std::snprintf(
        line, sizeof line, "%6d %9lld %9g %8lld %8.2f %11.5f %6.1f%% %12s %11.4g %10s  %s%s\n",
        r.gpus, (long long)r.global_batch, r.per_gpu_batch, (long long)r.steps, r.epochs,
        r.iteration_s, 100 * r.efficiency, duration_text(r.time_to_accuracy_s).c_str(), r.gpu_hours,
        r.cost ? cost_text : "-", r.pareto ? "pareto " : "", r.extrapolated ? "extrapolated" : "");
    out << line;
  }
  if (!plan.skipped.empty()) {
    out << "skipped " << plan.skipped.size() << " pair(s): e.g. " << plan.skipped.front().gpus
        << " GPUs x batch " << plan.skipped.front().global_batch << ": "
        << plan.skipped.front().reason << " (all in plan.json)\n";
  }
  if (!plan.picks) {
    out << "recommendation: none (no pair of --gpus and --batches divides and fits)\n";
    return out.str();
  }
  out << "recommendation: " << picks_line(plan, *plan.picks) << "\n";
  if (plan.picks_in_range) {
    out << "within the measured batches: " << picks_line(plan, *plan.picks_in_range) << "\n";
  }
  return out.str();
}

}  // namespace lb::sim
