#include "simulator/compute_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "runtime/core/errors.hpp"
#include "runtime/core/json_reader.hpp"
#include "simulator/order_statistics.hpp"

namespace lb::sim {
namespace {

// Bytes an optimizer step moves per parameter: LARS reads weight and gradient
// twice (norms, update), reads and writes momentum, writes the weight.
constexpr double kOptimizerBytesPerParam = 28;

// Forward and backward seconds per image of each layer at 100 % of the
// roofline: FLOPs over the peak, or activation bytes (read the input, write
// the output; backward twice both) over the memory bandwidth, whichever is
// longer. fp16 runs on the tensor cores, fp32 on TF32 ones where they exist.
struct Roofline {
  std::vector<double> forward, backward;
  double per_image_s = 0;
};

Roofline roofline(const ModelInfo& model, const DeviceProfile& d, Precision precision) {
  const bool half = precision == Precision::fp16;
  const double peak = 1e12 * (half                ? d.fp16_tflops
                              : d.tf32_tflops > 0 ? d.tf32_tflops
                                                  : d.fp32_tflops);
  const double bandwidth = d.memory_gbps * 1e9, width = half ? 2 : 4;
  Roofline r;
  double previous = double(model.input_elements);
  for (const auto& row : model.table) {
    double out = 1;
    for (std::size_t i = 1; i < row.output_shape.size(); ++i) out *= double(row.output_shape[i]);
    const double bytes = (previous + out) * width;
    r.forward.push_back(std::max(row.forward_flops / peak, bytes / bandwidth));
    r.backward.push_back(std::max(2 * row.forward_flops / peak, 2 * bytes / bandwidth));
    r.per_image_s += r.forward.back() + r.backward.back();
    previous = out;
  }
  return r;
}

std::string format(const char* pattern, double a, double b = 0, double c = 0, double d = 0) {
  char text[256];
  std::snprintf(text, sizeof text, pattern, a, b, c, d);
  return text;
}

// Least squares of step time against batch when two or more batch sizes
// are measured: the fixed time is the intercept.
bool fit_line_to(const std::vector<MeasuredThroughput>& points, double roof, double optimizer_s,
                 AnalyticFit& fit) {
  std::vector<double> x, y;
  for (const auto& p : points)
    x.push_back(p.per_gpu_batch), y.push_back(p.per_gpu_batch / p.images_per_s);
  Line line = fit_line(x, y);
  if (line.per_image_s <= 0 || line.fixed_s < optimizer_s) {  // noise: keep the optimizer's share
    line.fixed_s = optimizer_s;
    double sxy = 0, sxx = 0;
    for (std::size_t i = 0; i < x.size(); ++i)
      sxy += x[i] * (y[i] - optimizer_s), sxx += x[i] * x[i];
    line.per_image_s = sxy / sxx;
    fit.warnings.push_back(
        "the measured throughputs imply a fixed time below the optimizer's; "
        "fixed time set to the optimizer's");
  }
  if (line.per_image_s <= 0) return false;
  fit.efficiency = roof / line.per_image_s;
  fit.fixed_s = line.fixed_s;
  return true;
}

}  // namespace

AnalyticFit analytic_fit(const std::vector<MeasuredThroughput>& points, double roof,
                         double default_fixed_s, double default_efficiency, double optimizer_s) {
  AnalyticFit fit;
  std::set<double> batches;
  for (const auto& p : points) batches.insert(p.per_gpu_batch);
  if (!points.empty()) fit.min_batch = *batches.begin(), fit.max_batch = *batches.rbegin();
  fit.fixed_s = default_fixed_s;
  if (batches.size() >= 2 && fit_line_to(points, roof, optimizer_s, fit)) {
    fit.how = format("fitted to %.0f single-GPU throughputs at batch %.0f-%.0f",
                     double(points.size()), fit.min_batch, fit.max_batch);
  } else if (!points.empty()) {
    const auto& p = points.front();
    const double per_image = (p.per_gpu_batch / p.images_per_s - default_fixed_s) / p.per_gpu_batch;
    fit.efficiency = per_image > 0 ? roof / per_image : 2;  // > 1: capped below
    fit.how = format("fitted to %.0f images/s at batch %.0f, fixed time assumed", p.images_per_s,
                     p.per_gpu_batch);
  } else {
    fit.efficiency = default_efficiency;
    fit.how = "no measured throughput: efficiency assumed";
  }
  if (fit.efficiency > 1) {
    fit.warnings.push_back(format(
        "the measured throughput needs %.0f %% of the roofline (peak FLOPs, memory bandwidth): "
        "capped at 100 %%, so this device is predicted slower than measured",
        100 * fit.efficiency));
    fit.efficiency = 1;
  }
  return fit;
}

double ComputeModel::forward_s(double batch) const {
  double t = 0;
  for (const auto& l : layers) t += l.forward.at(batch);
  return t;
}

double ComputeModel::backward_s(double batch) const {
  double t = 0;
  for (const auto& l : layers) t += l.backward.at(batch);
  return t;
}

double threads_per_core(int ranks_on_node, double threads_per_rank, int cores) {
  if (ranks_on_node <= 0 || cores <= 0) return 0;
  return ranks_on_node * threads_per_rank / cores;
}

bool ComputeModel::time_sliced(double threads_per_core) const {
  return threads_per_core > 1 && shared_cores_load > 1;
}

double ComputeModel::compute_cv_at(double threads_per_core) const {
  return time_sliced(threads_per_core) ? shared_cores_cv : compute_cv;
}

double ComputeModel::fixed_s() const {
  double t = 0;
  for (const auto& l : layers)
    t += std::max(0.0, l.forward.fixed_s) + std::max(0.0, l.backward.fixed_s);
  return t;
}

Line fit_line(const std::vector<double>& x, const std::vector<double>& y) {
  const double n = double(x.size());
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sx += x[i], sy += y[i], sxx += x[i] * x[i], sxy += x[i] * y[i];
  }
  const double var = sxx - sx * sx / n;
  if (x.size() < 2 || var <= 1e-12 * sxx) return {0, sxx > 0 ? sxy / sxx : 0};
  const double slope = (sxy - sx * sy / n) / var;
  return {(sy - slope * sx) / n, slope};
}

namespace {

// The line through the median time at each batch size: repeated profiles
// at one batch give one point, so that a run hit by a burst of noise (a
// shared VM: one of three repeats 20 % slow) does not pull the line.
Line fit_line_through_medians(const std::vector<double>& x, const std::vector<double>& y) {
  std::map<double, std::vector<double>> at;
  for (std::size_t i = 0; i < x.size(); ++i) at[x[i]].push_back(y[i]);
  std::vector<double> xs, ys;
  for (auto& [batch, times] : at) xs.push_back(batch), ys.push_back(median(std::move(times)));
  return fit_line(xs, ys);
}

}  // namespace

ComputeModel analytic_compute_model(const ModelInfo& model, const DeviceProfile& d,
                                    Precision precision) {
  const Roofline roof = roofline(model, d, precision);
  const double optimizer_s = double(model.params) * kOptimizerBytesPerParam / (d.memory_gbps * 1e9);
  const double default_fixed_s =
      optimizer_s + d.kernel_overhead_us * 1e-6 * 3 * double(model.table.size());
  std::vector<MeasuredThroughput> points;
  for (const auto& m : d.measured) {
    if (m.model == model.name && m.precision == to_string(precision)) points.push_back(m);
  }
  const AnalyticFit fit =
      analytic_fit(points, roof.per_image_s, default_fixed_s, d.efficiency, optimizer_s);
  ComputeModel m{model.name,
                 "analytic: " + d.name + " " + std::string(to_string(precision)) + " roofline x " +
                     format("%.2f", fit.efficiency) + ", fixed " +
                     format("%.1f", 1e3 * fit.fixed_s) + " ms/step (" + fit.how + ")",
                 {},
                 0};
  m.measured_min_batch = fit.min_batch;
  m.measured_max_batch = fit.max_batch;
  m.warnings = fit.warnings;
  // The fixed time beyond the optimizer is spread over the layers' kernels:
  // one per layer forward, two backward.
  const double per_kernel =
      std::max(0.0, fit.fixed_s - optimizer_s) / (3 * double(model.table.size()));
  for (std::size_t i = 0; i < model.table.size(); ++i) {
    const auto& row = model.table[i];
    m.layers.push_back({row.name,
                        row.kind,
                        row.params,
                        {per_kernel, roof.forward[i] / fit.efficiency},
                        {2 * per_kernel, roof.backward[i] / fit.efficiency}});
  }
  m.optimizer_s = optimizer_s;
  return m;
}

namespace {

void check_profile(const ModelInfo& model, const RuntimeProfile& p) {
  if (p.model != model.name) {
    throw InputError("profile error: " + p.file + ": model \"" + p.model +
                     "\" does not match the spec's model.name \"" + model.name + "\"");
  }
  std::map<std::string, std::int64_t> params;
  for (const auto& row : model.table) params[row.name] = row.params;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < p.layers.size(); ++i) {
    const auto& l = p.layers[i];
    const auto it = params.find(l.name);
    const std::string at =
        "profile error: " + p.file + ": layers[" + std::to_string(i) + "] \"" + l.name + "\"";
    if (it == params.end() && l.params > 0)
      throw InputError(at + ": no such layer in " + model.name);
    if (it != params.end() && it->second != l.params) {
      throw InputError(at + ": " + std::to_string(l.params) + " params, " + model.name + " has " +
                       std::to_string(it->second));
    }
    seen.insert(l.name);
  }
  for (const auto& row : model.table) {
    if (row.params > 0 && !seen.count(row.name)) {
      throw InputError("profile error: " + p.file + ": layer \"" + row.name + "\" of " +
                       model.name + " is missing");
    }
  }
}

// Forward and backward phases take longer than their layers' sum (the loss,
// the copies between layers); that remainder is kept as one more "layer"
// after the last, so its forward runs last and its backward first, as the
// loss's do.
void add_unattributed(const std::vector<RuntimeProfile>& profiles, ComputeModel& m) {
  std::vector<double> x, f, b;
  for (const auto& p : profiles) {
    double layers_f = 0, layers_b = 0;
    for (const auto& l : p.layers) layers_f += l.forward_s, layers_b += l.backward_s;
    x.push_back(double(p.per_rank_batch));
    f.push_back(std::max(0.0, p.forward_s - layers_f));
    b.push_back(std::max(0.0, p.backward_s - layers_b));
  }
  m.layers.push_back({"(unattributed)", "other", 0, fit_line_through_medians(x, f),
                      fit_line_through_medians(x, b)});
}

}  // namespace

ComputeModel fitted_compute_model(const ModelInfo& model,
                                  const std::vector<RuntimeProfile>& profiles) {
  for (const auto& p : profiles) check_profile(model, p);
  return fit_profiles(profiles);
}

double node_threads_per_core(const RuntimeProfile& p) {
  if (p.device == "cuda") return 0;  // the host's cores do not run a GPU's compute
  return threads_per_core(p.ranks_per_node, std::max(p.threads, 1), p.node_cores);
}

namespace {

// Per-layer lines (and the unattributed remainder) through these profiles.
ComputeModel fit_lines(const std::vector<RuntimeProfile>& profiles) {
  std::set<std::int64_t> batches;
  for (const auto& p : profiles) batches.insert(p.per_rank_batch);
  ComputeModel m{
      profiles.front().model,
      "profile: " + std::to_string(profiles.size()) + " profile(s) at " +
          std::to_string(batches.size()) + " batch size(s)" +
          (batches.size() >= 2 ? ", linear fit per layer" : ", time proportional to batch"),
      {},
      0};
  m.measured_min_batch = double(*batches.begin());
  m.measured_max_batch = double(*batches.rbegin());
  for (const auto& first : profiles.front().layers) {  // the first profile's layer order
    std::vector<double> x, f, b;
    for (const auto& p : profiles) {
      for (const auto& l : p.layers) {
        if (l.name != first.name) continue;
        x.push_back(double(p.per_rank_batch)), f.push_back(l.forward_s), b.push_back(l.backward_s);
      }
    }
    m.layers.push_back({first.name, first.kind, first.params, fit_line_through_medians(x, f),
                        fit_line_through_medians(x, b)});
  }
  add_unattributed(profiles, m);
  std::vector<double> optimizer;
  for (const auto& p : profiles) optimizer.push_back(p.optimizer_s);
  m.optimizer_s = median(optimizer);
  return m;
}

double mean(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return v.empty() ? 0 : sum / double(v.size());
}

// A CPU profile (node_threads_per_core is 0 for GPU profiles: a GPU rank's
// exposed communication is mostly NCCL's transfer, not a wait) whose
// ranks' compute and waits are recorded: its mean wait over its mean
// compute, else 0.
double bound_wait_share(const RuntimeProfile& p) {
  if (node_threads_per_core(p) <= 0 || p.rank_exposed_comm_s.empty() || p.rank_compute_s.empty()) {
    return 0;
  }
  const double compute = mean(p.rank_compute_s);
  return compute > 0 ? mean(p.rank_exposed_comm_s) / compute : 0;
}

// Whether a profile's ranks had no all-reduce during backward: one bucket
// (its all-reduce starts when backward has finished) or no overlap; there
// the whole lead the slowest rank built over the step is waited at the end.
bool one_allreduce_after_backward(const RuntimeProfile& p) {
  return !p.comm.overlap || p.comm.buckets == 1;
}

// Ranks that each have a core (CPU profiles that record their node, one
// thread per core or fewer) wait at the all-reduce for the slowest of them,
// and what they wait is measured: the mean over ranks of each rank's exposed
// communication. That wait, over the compute and E[max of N], is the spread
// that makes them wait, which is only the part of each rank's step-to-step
// spread that the others do not share: on a VM whose jitter both vCPUs share
// (2026-12-07, 2 vCPUs), bound np 2 ranks' compute varied 7-20 % step to step
// yet they waited 0.2-13 % of it (median 2 %), and the compute spread made
// the straggler term predict 2-16 ms against 0.5-7 ms. Median over the
// profiles; compute_cv stays the step-to-step spread where none measured it
// (returns whether it was measured).
bool fit_bound_ranks_spread(const std::vector<RuntimeProfile>& multi, ComputeModel& m) {
  // From the runs whose waits are the whole lead when there are any: an
  // all-reduce during backward cuts the lead (fit_lead_kept).
  bool any_after = false;
  for (const auto& p : multi) {
    any_after = any_after || (one_allreduce_after_backward(p) && bound_wait_share(p) > 0);
  }
  std::vector<double> spreads;
  for (const auto& p : multi) {
    if (any_after && !one_allreduce_after_backward(p)) continue;
    const double share = bound_wait_share(p);
    if (share > 0) spreads.push_back(share / expected_max_normal(p.ranks));
  }
  if (spreads.empty()) return false;
  const double step_to_step = m.compute_cv;
  m.compute_cv = median(spreads);
  char text[160];
  std::snprintf(text, sizeof text,
                "; ranks' spread %.3f from the waits of %zu multi-rank profile(s) (step to step "
                "%.3f)",
                m.compute_cv, spreads.size(), step_to_step);
  m.source += text;
  return true;
}

// The share of one bucket's wait that a lead cut to `kept` at each of n
// evenly spaced all-reduces leaves at the end: the lead grows by the same
// step between them, so it ends at sum_j kept^j = (1 - kept^n) / (1 - kept)
// steps where it would end at n uncut.
double wait_share_after_cuts(double kept, int n) {
  if (kept >= 1) return 1;
  return (1 - std::pow(kept, n)) / (double(n) * (1 - kept));
}

// Bound CPU ranks that all-reduce many times during backward wait far less
// at its end than ranks whose one all-reduce follows it: on one 2-vCPU VM
// (2026-12-07, 21 runs each over nine checks) 0.4-0.5 % of their compute
// against 2.4-2.5 %. While an all-reduce waits for the slowest rank the
// faster ranks' communication threads wait on their cores and hold their
// compute back a little, so each all-reduce cuts the slowest rank's lead.
// How much is measured here: per profile with overlap and 8 or more
// buckets, its wait over the wait the ranks' spread gives uncut (compute_cv
// x E[max of N] x compute) is the share left at the end, and the lead kept
// at each all-reduce is the one that leaves that share (the buckets taken
// as evenly spaced); the median over those profiles. Only where the
// spread came from measured waits (fit_bound_ranks_spread); not fitted where
// no such profile was measured (1: never cut).
void fit_lead_kept(const std::vector<RuntimeProfile>& multi, ComputeModel& m) {
  constexpr int kMinBuckets = 8;
  if (m.compute_cv <= 0) return;
  std::vector<double> kepts;
  for (const auto& p : multi) {
    if (!p.comm.overlap || p.comm.buckets < kMinBuckets) continue;
    const double share = bound_wait_share(p);
    if (share <= 0) continue;
    const double left = share / (m.compute_cv * expected_max_normal(p.ranks));
    const int n = p.comm.buckets;
    double lo = 0, hi = 1;  // wait_share_after_cuts rises with kept, from 1/n to 1
    for (int i = 0; i < 60; ++i) {
      const double mid = (lo + hi) / 2;
      (wait_share_after_cuts(mid, n) < left ? lo : hi) = mid;
    }
    kepts.push_back((lo + hi) / 2);
  }
  if (kepts.empty()) return;
  m.lead_kept_at_allreduce = median(kepts);
  char text[128];
  std::snprintf(text, sizeof text,
                "; lead kept at each all-reduce %.3f from %zu profile(s) with many a step",
                m.lead_kept_at_allreduce, kepts.size());
  m.source += text;
}

}  // namespace

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

ComputeModel fit_profiles(const std::vector<RuntimeProfile>& profiles) {
  if (profiles.empty()) throw std::logic_error("fit_profiles: no profiles");
  for (const auto& p : profiles) {
    if (p.model != profiles.front().model) {
      throw InputError("profile error: " + p.file + ": model \"" + p.model + "\" differs from " +
                       profiles.front().file + "'s \"" + profiles.front().model + "\"");
    }
  }
  std::vector<RuntimeProfile> single, multi, shared_cores;
  for (const auto& p : profiles) {
    if (node_threads_per_core(p) > 1) {
      shared_cores.push_back(p);  // time-sliced: neither the lines nor the co-run factor
    } else {
      (p.ranks > 1 ? multi : single).push_back(p);
    }
  }
  // The lines: from the single-rank profiles, else the multi-rank ones;
  // time-sliced ones only when nothing else was measured.
  ComputeModel m = fit_lines(!single.empty() ? single : !multi.empty() ? multi : shared_cores);
  if (!single.empty() && !multi.empty()) {
    // Forward only: backward runs beside the all-reduces, whose CPU work
    // the simulation puts beside it on its own (scaling.cpp's RankShare),
    // while forward never does, so forward's slowdown is the ranks' alone.
    std::vector<double> ratios;
    for (const auto& p : multi) {
      const double alone = m.forward_s(double(p.per_rank_batch));
      if (alone > 0 && p.forward_s > 0) ratios.push_back(p.forward_s / alone);
    }
    if (!ratios.empty()) m.co_run_factor = median(ratios);
    char text[96];
    std::snprintf(text, sizeof text, "; co-run factor %.3f from %zu multi-rank profile(s)",
                  m.co_run_factor, ratios.size());
    m.source += text;
  }
  // The median profile's: one noisy run does not decide.
  std::vector<double> cvs;
  for (const auto& p : single) cvs.push_back(p.compute_cv);
  for (const auto& p : multi) cvs.push_back(p.compute_cv);
  if (cvs.empty()) {
    for (const auto& p : shared_cores) cvs.push_back(p.compute_cv);
  }
  std::sort(cvs.begin(), cvs.end());
  m.compute_cv = cvs[cvs.size() / 2];
  if (fit_bound_ranks_spread(multi, m)) fit_lead_kept(multi, m);
  if (!shared_cores.empty()) {
    std::vector<double> shared_cvs, loads, waits;
    for (const auto& p : shared_cores) {
      shared_cvs.push_back(p.compute_cv);
      loads.push_back(node_threads_per_core(p));
      if (!p.rank_exposed_comm_s.empty()) waits.push_back(mean(p.rank_exposed_comm_s));
    }
    m.shared_cores_cv = median(shared_cvs);
    m.shared_cores_load = median(loads);
    if (!waits.empty()) m.shared_cores_wait_s = median(waits);
    char text[128];
    std::snprintf(text, sizeof text,
                  "; compute cv %.3f at %.2f threads per core from %zu profile(s)",
                  m.shared_cores_cv, m.shared_cores_load, shared_cores.size());
    m.source += text;
    if (!waits.empty()) {
      std::snprintf(text, sizeof text, ", where ranks wait %.1f ms a step (%zu profile(s))",
                    m.shared_cores_wait_s * 1e3, waits.size());
      m.source += text;
    }
  }
  return m;
}

nlohmann::json to_json(const ComputeModel& m) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : m.layers) {
    layers.push_back({{"name", l.name},
                      {"kind", l.kind},
                      {"params", l.params},
                      {"forward_fixed_s", l.forward.fixed_s},
                      {"forward_per_image_s", l.forward.per_image_s},
                      {"backward_fixed_s", l.backward.fixed_s},
                      {"backward_per_image_s", l.backward.per_image_s}});
  }
  return {{"model", m.model},
          {"source", m.source},
          {"optimizer_s", m.optimizer_s},
          {"compute_cv", m.compute_cv},
          {"shared_cores_cv", m.shared_cores_cv},
          {"shared_cores_load", m.shared_cores_load},
          {"shared_cores_wait_s", m.shared_cores_wait_s},
          {"lead_kept_at_allreduce", m.lead_kept_at_allreduce},
          {"co_run_factor", m.co_run_factor},
          {"measured_min_batch", m.measured_min_batch},
          {"measured_max_batch", m.measured_max_batch},
          {"layers", layers}};
}

namespace {

// A calibration's line: finite (the ranges), and not negative at every
// batch size (a least-squares line may dip below 0 at one end, never both).
Line read_line(ObjectReader& r, const char* fixed_key, const char* per_image_key) {
  const NumberRange seconds = NumberRange::closed(-1e6, 1e6);
  Line line;
  r.read(fixed_key, line.fixed_s, seconds);
  r.read(per_image_key, line.per_image_s, seconds);
  if (line.fixed_s <= 0 && line.per_image_s <= 0 && (line.fixed_s < 0 || line.per_image_s < 0)) {
    throw SpecError(r.path_of(fixed_key), "a layer time that is negative at every batch size");
  }
  return line;
}

LayerTimeModel read_layer(ObjectReader r) {
  LayerTimeModel l;
  r.read("name", l.name);
  if (l.name.empty()) throw SpecError(r.path_of("name"), "missing");
  r.read("kind", l.kind);
  r.read("params", l.params, IntRange::at_least(0));
  l.forward = read_line(r, "forward_fixed_s", "forward_per_image_s");
  l.backward = read_line(r, "backward_fixed_s", "backward_per_image_s");
  r.finish();
  return l;
}

}  // namespace

ComputeModel compute_model_from_json(const nlohmann::json& j, const std::string& path) {
  ObjectReader r(j, path);
  ComputeModel m;
  r.read("model", m.model);
  if (m.model.empty()) throw SpecError(r.path_of("model"), "missing");
  m.source = "calibration";
  r.read("source", m.source);
  r.read("optimizer_s", m.optimizer_s, NumberRange::closed(0, 1e6));
  r.read("compute_cv", m.compute_cv, NumberRange::closed(0, 10));
  r.read("shared_cores_cv", m.shared_cores_cv, NumberRange::closed(0, 10));
  r.read("shared_cores_load", m.shared_cores_load, NumberRange::closed(0, 1e6));
  r.read("shared_cores_wait_s", m.shared_cores_wait_s, NumberRange::closed(0, 1e3));
  r.read("lead_kept_at_allreduce", m.lead_kept_at_allreduce, NumberRange::closed(0, 1));
  r.read("co_run_factor", m.co_run_factor, NumberRange::closed(1e-3, 1e3));
  r.read("measured_min_batch", m.measured_min_batch, NumberRange::closed(0, 1e9));
  r.read("measured_max_batch", m.measured_max_batch, NumberRange::closed(0, 1e9));
  const nlohmann::json* layers = r.take("layers");
  if (layers == nullptr || !layers->is_array() || layers->empty()) {
    throw SpecError(r.path_of("layers"), "expected a non-empty array of layer lines");
  }
  for (std::size_t i = 0; i < layers->size(); ++i) {
    m.layers.push_back(read_layer(ObjectReader((*layers)[i], index_path(r.path_of("layers"), i))));
  }
  r.finish();
  return m;
}

}  // namespace lb::sim
