#include "simulator/compute_model.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "runtime/core/errors.hpp"

namespace lb::sim {
namespace {

// Bytes an optimizer step moves per parameter: LARS reads weight and gradient
// twice (norms, update), reads and writes momentum, writes the weight.
constexpr double kOptimizerBytesPerParam = 28;

double efficiency_for(const ModelInfo& model, const DeviceProfile& d, Precision precision,
                      double peak_flops, std::string& how) {
  double flops_per_image = 0;
  for (const auto& row : model.table) flops_per_image += 3 * row.forward_flops;
  for (const auto& m : d.measured) {
    if (m.model != model.name || m.precision != to_string(precision)) continue;
    how = "efficiency fitted to " + std::to_string(int(m.images_per_s)) + " images/s published";
    return std::min(1.0, flops_per_image * m.images_per_s / peak_flops);
  }
  how = "device efficiency " + std::to_string(d.efficiency);
  return d.efficiency;
}

}  // namespace

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

ComputeModel analytic_compute_model(const ModelInfo& model, const DeviceProfile& d,
                                    Precision precision) {
  const double peak = (precision == Precision::fp16 ? d.fp16_tflops : d.fp32_tflops) * 1e12;
  std::string how;
  const double efficiency = efficiency_for(model, d, precision, peak, how);
  ComputeModel m{model.name,
                 "analytic: " + d.name + " " + std::string(to_string(precision)) + ", " + how,
                 {},
                 0};
  for (const auto& row : model.table) {
    const double per_image = row.forward_flops / (peak * efficiency);
    m.layers.push_back({row.name, row.kind, row.params, {0, per_image}, {0, 2 * per_image}});
  }
  m.optimizer_s = double(model.params) * kOptimizerBytesPerParam / (d.memory_gbps * 1e9);
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
  m.layers.push_back({"(unattributed)", "other", 0, fit_line(x, f), fit_line(x, b)});
}

}  // namespace

ComputeModel fitted_compute_model(const ModelInfo& model,
                                  const std::vector<RuntimeProfile>& profiles) {
  for (const auto& p : profiles) check_profile(model, p);
  return fit_profiles(profiles);
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
  for (const auto& first : profiles.front().layers) {  // the first profile's layer order
    std::vector<double> x, f, b;
    for (const auto& p : profiles) {
      for (const auto& l : p.layers) {
        if (l.name != first.name) continue;
        x.push_back(double(p.per_rank_batch)), f.push_back(l.forward_s), b.push_back(l.backward_s);
      }
    }
    m.layers.push_back({first.name, first.kind, first.params, fit_line(x, f), fit_line(x, b)});
  }
  add_unattributed(profiles, m);
  double sum = 0;
  for (const auto& p : profiles) sum += p.optimizer_s;
  m.optimizer_s = sum / double(profiles.size());
  return m;
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
  std::vector<RuntimeProfile> single, multi;
  for (const auto& p : profiles) (p.ranks > 1 ? multi : single).push_back(p);
  ComputeModel m = fit_lines(single.empty() ? profiles : single);
  if (!single.empty() && !multi.empty()) {
    std::vector<double> ratios;
    for (const auto& p : multi) {
      const double b = double(p.per_rank_batch);
      const double alone = m.forward_s(b) + m.backward_s(b);
      if (alone > 0) ratios.push_back((p.forward_s + p.backward_s) / alone);
    }
    if (!ratios.empty()) m.co_run_factor = median(ratios);
    char text[96];
    std::snprintf(text, sizeof text, "; co-run factor %.3f from %zu multi-rank profile(s)",
                  m.co_run_factor, ratios.size());
    m.source += text;
  }
  std::vector<double> cvs;
  for (const auto& p : profiles) cvs.push_back(p.compute_cv);
  std::sort(cvs.begin(), cvs.end());
  m.compute_cv = cvs[cvs.size() / 2];  // the median profile's: one noisy run does not decide
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
          {"co_run_factor", m.co_run_factor},
          {"layers", layers}};
}

ComputeModel compute_model_from_json(const nlohmann::json& j, const std::string& where) {
  try {
    ComputeModel m{j.at("model").get<std::string>(),
                   j.value("source", "calibration"),
                   {},
                   j.at("optimizer_s").get<double>()};
    m.compute_cv = j.value("compute_cv", 0.0);  // absent in calibrations made before it existed
    m.co_run_factor = j.value("co_run_factor", 1.0);
    for (const auto& l : j.at("layers")) {
      m.layers.push_back(
          {l.at("name").get<std::string>(),
           l.value("kind", ""),
           l.value("params", std::int64_t(0)),
           {l.at("forward_fixed_s").get<double>(), l.at("forward_per_image_s").get<double>()},
           {l.at("backward_fixed_s").get<double>(), l.at("backward_per_image_s").get<double>()}});
    }
    return m;
  } catch (const nlohmann::json::exception& e) {
    throw InputError("calibration error: " + where + ": compute: " + e.what());
  }
}

}  // namespace lb::sim
