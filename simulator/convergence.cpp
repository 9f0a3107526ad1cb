#include "simulator/convergence.hpp"

#include <cmath>

#include "runtime/core/errors.hpp"
#include "runtime/core/files.hpp"
#include "runtime/core/json_reader.hpp"
#include "runtime/core/stop_at.hpp"

namespace lb::sim {
namespace {

using json = nlohmann::json;

constexpr const char* kFormat = "largebatch-convergence";

// A key that must be present: its reader left the sentinel in place.
void require(bool present, const ObjectReader& r, const char* key, const std::string& what) {
  if (!present) throw SpecError(r.path_of(key), "missing: expected " + what);
}

void read_header(ObjectReader& r) {
  std::string format;
  int version = 0;
  r.read("format", format);
  r.read("version", version, IntRange::between(1, 1));
  if (format != kFormat) {
    throw SpecError(r.path_of("format"), std::string("expected \"") + kFormat + "\", got " +
                                             (format.empty() ? "nothing" : "\"" + format + "\""));
  }
  require(version == 1, r, "version", "1");
}

void read_target(ObjectReader& r, ConvergenceModel& m) {
  require(r.take("target") != nullptr, r, "target", "e.g. {\"validation_accuracy\": 0.9}");
  read_stop_at(r.child("target"), m.target);
  if (!m.target.enabled()) {
    throw SpecError(r.path_of("target"), "expected one metric and its target, got {}");
  }
}

// s_min (steps) or e_min (images), b_crit; both s_min and e_min only when they agree.
void read_scales(ObjectReader& r, ConvergenceModel& m) {
  double e_min = 0;
  r.read("s_min", m.s_min, NumberRange::greater(0));
  r.read("e_min", e_min, NumberRange::greater(0));
  r.read("b_crit", m.b_crit, NumberRange::greater(0));
  require(m.b_crit > 0, r, "b_crit", "the critical batch in images, a number > 0");
  require(m.s_min > 0 || e_min > 0, r, "s_min",
          "s_min (steps at an infinite batch) or e_min (images at a batch of 1), a number > 0");
  if (m.s_min == 0) m.s_min = e_min / m.b_crit;
  if (e_min > 0 && std::fabs(m.e_min() - e_min) > 1e-3 * e_min) {
    throw SpecError(r.path_of("e_min"), "expected s_min × b_crit = " + format_number(m.e_min()) +
                                            " (or only one of s_min and e_min), got " +
                                            format_number(e_min));
  }
}

void read_batch_range(ObjectReader& r, ConvergenceModel& m) {
  std::vector<double> range;
  r.read("batch_range", range, NumberRange::greater(0));
  const std::string path = r.path_of("batch_range");
  if (range.size() != 2) {
    throw SpecError(path, "expected [smallest, largest] measured global batch, got " +
                              std::to_string(range.size()) + " numbers");
  }
  if (range[1] < range[0]) {
    throw SpecError(index_path(path, 1), "expected a number >= the smallest batch (" +
                                             format_number(range[0]) + "), got " +
                                             format_number(range[1]));
  }
  m.batch_min = range[0];
  m.batch_max = range[1];
}

void read_points(ObjectReader& r, ConvergenceModel& m) {
  const json* points = r.take("points");
  if (points == nullptr) return;
  if (!points->is_array())
    throw SpecError(r.path_of("points"), "expected an array, got " + brief(*points));
  for (std::size_t i = 0; i < points->size(); ++i) {
    ObjectReader p((*points)[i], index_path(r.path_of("points"), i));
    ConvergencePoint point;
    double fitted = -1;
    p.read("batch", point.batch, NumberRange::greater(0));
    p.read("steps", point.steps, NumberRange::greater(0));
    p.read("fitted_steps", fitted, NumberRange::greater(0));
    p.read("label", point.label);
    p.finish();
    require(point.batch > 0, p, "batch", "a number > 0");
    require(point.steps > 0, p, "steps", "a number > 0");
    if (fitted > 0) point.fitted_steps = fitted;
    m.points.push_back(point);
  }
}

void read_provenance(ObjectReader& r, ConvergenceModel& m) {
  r.read_choice("precision", m.precision, {"fp32", "fp16"});
  r.read_choice("optimizer", m.optimizer, {"sgd", "nesterov", "lars"});
  r.read("model", m.model);
  r.read("dataset", m.dataset);
  r.read_choice("method", m.method, {"steps_to_target_fit", "noise_scale", "manual"});
  r.read("source", m.source);
  r.read("notes", m.notes);
  require(!m.precision.empty(), r, "precision", "\"fp32\" or \"fp16\": what the steps hold for");
  require(!m.optimizer.empty(), r, "optimizer", "\"sgd\", \"nesterov\" or \"lars\"");
  require(!m.model.empty(), r, "model", "the model the steps were measured with");
  require(!m.source.empty(), r, "source", "where the numbers come from");
  double rms = -1;
  r.read("rms_log_residual", rms, NumberRange::at_least(0));
  if (rms >= 0) m.rms_log_residual = rms;
}

// SpecError's text without its "spec error: " prefix.
std::string bare(const SpecError& e) {
  const std::string text = e.what();
  const std::string prefix = "spec error: ";
  return text.starts_with(prefix) ? text.substr(prefix.size()) : text;
}

}  // namespace

std::string optimizer_label(const OptimizerSpec& optimizer) {
  if (optimizer.name == OptimizerKind::sgd && optimizer.nesterov) return "nesterov";
  return to_string(optimizer.name);
}

std::string describe(const StopAtSpec& target) {
  const bool loss = target.metric.ends_with("_loss");
  return target.metric + (loss ? " <= " : " >= ") + format_number(target.value);
}

ConvergenceModel parse_convergence(const json& document) {
  ObjectReader r(document, "");
  ConvergenceModel m;
  read_header(r);
  read_target(r, m);
  read_scales(r, m);
  read_batch_range(r, m);
  read_points(r, m);
  read_provenance(r, m);
  r.finish();
  return m;
}

ConvergenceModel load_convergence(const std::filesystem::path& file) {
  const std::string at = "convergence error: " + file.string() + ": ";
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) throw InputError(at + "cannot open");
  const json document = json::parse(read_file(file), nullptr, false);
  if (document.is_discarded()) throw InputError(at + "invalid JSON");
  if (!document.is_object()) {
    throw InputError(at + "expected a JSON object at the top level, got " + brief(document));
  }
  try {
    return parse_convergence(document);
  } catch (const SpecError& e) {
    throw InputError(at + bare(e));
  }
}

json to_json(const ConvergenceModel& m) {
  json points = json::array();
  for (const ConvergencePoint& p : m.points) {
    json row{{"batch", p.batch}, {"steps", p.steps}};
    if (p.fitted_steps) row["fitted_steps"] = *p.fitted_steps;
    if (!p.label.empty()) row["label"] = p.label;
    points.push_back(row);
  }
  json doc{{"format", kFormat},
           {"version", 1},
           {"target", {{m.target.metric, m.target.value}}},
           {"s_min", m.s_min},
           {"b_crit", m.b_crit},
           {"e_min", m.e_min()},
           {"batch_range", {m.batch_min, m.batch_max}},
           {"optimizer", m.optimizer},
           {"precision", m.precision},
           {"model", m.model},
           {"method", m.method},
           {"source", m.source}};
  if (!m.dataset.empty()) doc["dataset"] = m.dataset;
  if (!m.points.empty()) doc["points"] = points;
  if (m.rms_log_residual) doc["rms_log_residual"] = *m.rms_log_residual;
  if (!m.notes.empty()) doc["notes"] = m.notes;
  return doc;
}

}  // namespace lb::sim
