#include "hparam/sweep_file.hpp"

#include <set>

#include "runtime/core/errors.hpp"
#include "runtime/core/json_reader.hpp"
#include "runtime/core/spec.hpp"

namespace lb::hparam {
namespace {

using json = nlohmann::json;

// A SpecError's message without its "spec error: " prefix.
std::string bare(const SpecError& e) {
  const std::string text = e.what();
  const std::string prefix = "spec error: ";
  return text.starts_with(prefix) ? text.substr(prefix.size()) : text;
}

// Parses `spec` as an experiment spec; a problem is reported at `where` in the sweep file.
Spec check_spec(const json& spec, const std::string& where) {
  try {
    return parse_spec(spec);
  } catch (const SpecError& e) {
    throw SpecError(where, "gives an invalid spec: " + bare(e));
  } catch (const InputError& e) {
    throw SpecError(where, e.what());
  }
}

json read_base(ObjectReader& r, const std::filesystem::path& base_dir) {
  const json* base = r.take("base");
  if (base == nullptr)
    throw SpecError("base", "missing: expected a spec file path or a spec object");
  if (base->is_object()) return *base;
  if (!base->is_string())
    throw SpecError("base", "expected a spec file path or a spec object, got " + brief(*base));
  const std::filesystem::path file = base_dir / base->get<std::string>();
  json spec = read_json_file(file, "spec");
  if (!spec.is_object())
    throw SpecError("base", file.string() + ": expected a JSON object, got " + brief(spec));
  return spec;
}

// The resolved value of a dotted key in `resolved` (every default filled in), or nullptr.
const json* lookup(const json& resolved, const std::string& key) {
  const json* node = &resolved;
  std::size_t start = 0;
  while (start <= key.size()) {
    const std::size_t dot = std::min(key.find('.', start), key.size());
    const std::string part = key.substr(start, dot - start);
    if (!node->is_object() || !node->contains(part)) return nullptr;
    node = &(*node)[part];
    start = dot + 1;
  }
  return node;
}

void check_param_values(const Param& p, const json& base, const std::string& where) {
  std::vector<json> values = p.choices;
  if (p.continuous())
    values = {p.integer ? json(std::int64_t(p.min)) : json(p.min),
              p.integer ? json(std::int64_t(p.max)) : json(p.max)};
  for (const json& v : values) check_spec(apply_overrides(base, json{{p.key, v}}), where);
}

Param read_param(const std::string& key, const json& value, const json& base,
                 const json& resolved) {
  const std::string where = join_path("space", key);
  ObjectReader r(value, where);
  Param p;
  p.key = key;
  if (const json* choices = r.take("choices")) {
    if (!choices->is_array() || choices->empty()) {
      throw SpecError(r.path_of("choices"), "expected a non-empty array, got " + brief(*choices));
    }
    p.kind = Param::Kind::choice;
    p.choices.assign(choices->begin(), choices->end());
    r.finish();  // scale, min and max do not go with choices
  } else {
    std::string scale = "linear";
    r.read_choice("scale", scale, {"linear", "log"});
    p.kind = scale == "log" ? Param::Kind::log : Param::Kind::linear;
    if (r.take("min") == nullptr)
      throw SpecError(r.path_of("min"), "missing (or give \"choices\")");
    if (r.take("max") == nullptr)
      throw SpecError(r.path_of("max"), "missing (or give \"choices\")");
    r.read("min", p.min, p.kind == Param::Kind::log ? NumberRange::greater(0) : NumberRange::any());
    r.read("max", p.max, NumberRange::at_least(p.min));
    r.finish();
  }
  const json* current = lookup(resolved, key);
  if (current == nullptr)
    check_spec(apply_overrides(base, json{{key, 0}}), where);  // names the unknown key
  if (current != nullptr && p.continuous() && !current->is_number()) {
    throw SpecError(where, "a range needs a numeric spec key; " + key + " is " + brief(*current) +
                               " (use \"choices\")");
  }
  p.integer = p.continuous() && current != nullptr && current->is_number_integer();
  check_param_values(p, base, where);
  return p;
}

SearchSpace read_space(ObjectReader& r, const json& base) {
  const json* space = r.take("space");
  if (space == nullptr || !space->is_object() || space->empty()) {
    throw SpecError("space", "expected an object with at least one spec key, got " +
                                 (space ? brief(*space) : "nothing"));
  }
  const json resolved = to_json(check_spec(base, "base"));
  SearchSpace s;
  for (const auto& [key, value] : space->items())
    s.params.push_back(read_param(key, value, base, resolved));
  return s;
}

void read_halving(ObjectReader& r, Stage& stage, double epochs) {
  const json* h = r.take("halving");
  if (h == nullptr) return;
  if (stage.final)
    throw SpecError(r.path_of("halving"),
                    "not allowed in the final stage (the full runs all finish)");
  ObjectReader hr(*h, r.path_of("halving"));
  Halving halving;
  hr.read("eta", halving.eta, NumberRange::greater(1));
  hr.read("min_epochs", halving.min_epochs, NumberRange::open(0, epochs));
  std::string mode = halving.synchronous ? "sync" : "async";
  hr.read_choice("mode", mode, {"sync", "async"});
  halving.synchronous = mode == "sync";
  hr.finish();
  stage.halving = halving;
}

void read_init_from(ObjectReader& r, Stage& stage, std::size_t index) {
  if (index == 0) {
    if (r.take("init_from") != nullptr)
      throw SpecError(r.path_of("init_from"), "the first stage has no earlier stage to start from");
    return;
  }
  std::string from = to_string(stage.init_from);
  r.read_choice("init_from", from, {"none", "best_of_previous_stage", "parent"});
  stage.init_from = from == "parent"                   ? InitFrom::parent
                    : from == "best_of_previous_stage" ? InitFrom::best_of_previous_stage
                                                       : InitFrom::none;
  if (stage.init_from != InitFrom::none && stage.fidelity.contains("train.init_from"))
    throw SpecError(r.path_of("fidelity"), "train.init_from: set by the stage's init_from");
}

}  // namespace

std::string to_string(InitFrom from) {
  switch (from) {
    case InitFrom::best_of_previous_stage:
      return "best_of_previous_stage";
    case InitFrom::parent:
      return "parent";
    case InitFrom::none:
      break;
  }
  return "none";
}

namespace {

Stage read_stage(const json& value, std::size_t index, const SweepConfig& sweep) {
  ObjectReader r(value, index_path("stages", index));
  Stage stage;
  r.read("name", stage.name);
  if (stage.name.empty()) throw SpecError(r.path_of("name"), "missing: every stage needs a name");
  r.read("final", stage.final);
  if (index == 0 && stage.final)
    throw SpecError(r.path_of("final"),
                    "the first stage cannot be final: it has no configurations to take");
  if (!stage.final) {
    std::string sampler = "grid";
    r.read_choice("sampler", sampler, {"grid", "halton"});
    stage.sampler = sampler == "grid" ? Sampler::grid : Sampler::halton;
    r.read("points", stage.points, IntRange::between(1, 10000));
  }
  if (stage.final) {
    stage.top_k = 1;
    r.read("rerun_identical", stage.rerun_identical);
  }
  if (index > 0) r.read("top_k", stage.top_k, IntRange::between(1, 1000));
  if (index > 0 && !stage.final) r.read("narrow", stage.narrow, NumberRange::open_closed(0, 1));
  if (const json* f = r.take("fidelity")) {
    if (!f->is_object())
      throw SpecError(r.path_of("fidelity"),
                      "expected an object of \"spec.key\": value, got " + brief(*f));
    stage.fidelity = *f;
  }
  const Spec spec = check_spec(apply_overrides(sweep.base, stage.fidelity), r.path_of("fidelity"));
  read_halving(r, stage, spec.train.epochs);
  read_init_from(r, stage, index);
  r.finish();
  return stage;
}

void read_stages(ObjectReader& r, SweepConfig& sweep) {
  const json* stages = r.take("stages");
  if (stages == nullptr || !stages->is_array() || stages->empty()) {
    throw SpecError("stages", "expected a non-empty array of stages, got " +
                                  (stages ? brief(*stages) : "nothing"));
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < stages->size(); ++i) {
    Stage stage = read_stage((*stages)[i], i, sweep);
    if (!names.insert(stage.name).second)
      throw SpecError(index_path("stages", i) + ".name",
                      "duplicate stage name \"" + stage.name + "\"");
    if (i > 0 && sweep.stages.back().final)
      throw SpecError(index_path("stages", i), "no stage may follow the final stage");
    sweep.stages.push_back(std::move(stage));
  }
}

std::vector<std::string> read_strings(ObjectReader& r, std::string_view key) {
  std::vector<std::string> out;
  const json* l = r.take(key);
  if (l == nullptr) return out;
  if (!l->is_array())
    throw SpecError(r.path_of(key), "expected an array of strings, got " + brief(*l));
  for (std::size_t i = 0; i < l->size(); ++i) {
    if (!(*l)[i].is_string())
      throw SpecError(index_path(r.path_of(key), i), "expected a string, got " + brief((*l)[i]));
    out.push_back((*l)[i].get<std::string>());
  }
  return out;
}

void read_slurm(ObjectReader r, SlurmSettings& s) {
  r.read("partition", s.partition);
  r.read("ranks", s.ranks, IntRange::between(1, 65536));
  r.read("nodes", s.nodes, IntRange::between(0, 65536));
  r.read("gpus_per_rank", s.gpus_per_rank, IntRange::between(0, 64));
  r.read("cpus_per_rank", s.cpus_per_rank, IntRange::between(0, 4096));
  r.read("time_limit_min", s.time_limit_min, IntRange::between(0, 525600));
  s.sbatch = read_strings(r, "sbatch");
  for (std::size_t i = 0; i < s.sbatch.size(); ++i) {
    if (s.sbatch[i].find_first_of("\r\n") != std::string::npos)
      throw SpecError(index_path(r.path_of("sbatch"), i), "one #SBATCH line each: no newline");
  }
  s.srun = read_strings(r, "srun");
  r.read("poll_s", s.poll_s, NumberRange::closed(0.1, 3600));
  r.finish();
}

void read_trial(ObjectReader r, TrialSettings& t) {
  r.read("timeout_s", t.timeout_s, NumberRange::greater(0));
  r.read("retries", t.retries, IntRange::between(0, 100));
  t.launcher = read_strings(r, "launcher");
  r.finish();
}

// The validation split a trial of `stage` would have (0 where the spec has
// no such key).
std::int64_t validation_images(const json& base, const json& fidelity) {
  const json resolved = to_json(parse_spec(apply_overrides(base, fidelity)));
  const json* v = lookup(resolved, "data.validation_images");
  return v != nullptr && v->is_number_integer() ? v->get<std::int64_t>() : 0;
}

// Choices are made on validation data: a test-set objective only when the
// sweep file says so, and a validation objective only with a split to read.
void read_objective(ObjectReader& r, SweepConfig& sweep) {
  r.read_choice("objective", sweep.objective,
                {"validation_accuracy", "validation_loss", "test_accuracy", "test_loss"});
  r.read("allow_test_objective", sweep.allow_test_objective);
  if (is_test_objective(sweep.objective) && !sweep.allow_test_objective) {
    throw SpecError("objective", "\"" + sweep.objective +
                                     "\" chooses configurations by the test set; use "
                                     "validation_accuracy (data.validation_images in the base "
                                     "spec), or set \"allow_test_objective\": true");
  }
}

void check_validation_split(const SweepConfig& sweep) {
  if (is_test_objective(sweep.objective)) return;
  const std::string why = sweep.objective +
                          " needs a validation split: set "
                          "data.validation_images > 0";
  if (validation_images(sweep.base, json::object()) <= 0)
    throw SpecError("objective", why + " in the base spec");
  for (std::size_t i = 0; i < sweep.stages.size(); ++i) {
    if (validation_images(sweep.base, sweep.stages[i].fidelity) <= 0)
      throw SpecError(index_path("stages", i) + ".fidelity", why + " (this stage sets it to 0)");
  }
}

}  // namespace

Goal objective_goal(const std::string& objective) {
  return objective.ends_with("_loss") ? Goal::minimize : Goal::maximize;
}

bool is_test_objective(const std::string& objective) { return objective.starts_with("test_"); }

json apply_overrides(json spec, const json& overrides) {
  for (const auto& [key, value] : overrides.items()) apply_override(spec, set_argument(key, value));
  return spec;
}

std::string set_argument(const std::string& key, const json& value) {
  if (value.is_string() && !json::accept(value.get<std::string>()))
    return key + "=" + value.get<std::string>();
  return key + "=" + value.dump();
}

double stage_epochs(const SweepConfig& sweep, const Stage& stage) {
  return parse_spec(apply_overrides(sweep.base, stage.fidelity)).train.epochs;
}

namespace {

// target: the cluster the full runs are priced on, and how (see cost_to_accuracy.hpp).
void read_target(ObjectReader target, const std::filesystem::path& base_dir, SweepConfig& sweep) {
  target.read("gpus", sweep.target_gpus, IntRange::between(0, 1 << 24));
  target.read("convergence", sweep.target_convergence);
  target.read("price_per_gpu_hour", sweep.target_price_per_gpu_hour, NumberRange::at_least(0));
  target.finish();
  if (sweep.target_convergence.empty()) return;
  if (sweep.target_gpus == 0) {
    throw SpecError(target.path_of("convergence"), "needs target.gpus (the cluster to price on)");
  }
  if (sweep.target_convergence == "trials") return;
  const std::filesystem::path file = std::filesystem::absolute(base_dir / sweep.target_convergence);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    throw SpecError(
        target.path_of("convergence"),
        "expected a convergence model file or \"trials\", cannot open " + file.string());
  }
  sweep.target_convergence = file.string();
}

}  // namespace

SweepConfig parse_sweep(const json& document, const std::filesystem::path& base_dir) {
  ObjectReader r(document, "");
  SweepConfig sweep;
  r.read("name", sweep.name);
  sweep.base = read_base(r, base_dir);
  r.read("seed", sweep.seed);
  read_objective(r, sweep);
  read_target(r.child("target"), base_dir, sweep);
  read_trial(r.child("trial"), sweep.trial);
  r.read_choice("launcher", sweep.launcher, {"local", "slurm"});
  read_slurm(r.child("slurm"), sweep.slurm);
  if (sweep.launcher == "slurm" && !sweep.trial.launcher.empty())
    throw SpecError("trial.launcher",
                    "not used with \"launcher\": \"slurm\", where trials run "
                    "under srun (ranks: slurm.ranks, options: slurm.srun)");
  sweep.space = read_space(r, sweep.base);
  read_stages(r, sweep);
  r.finish();
  check_validation_split(sweep);
  sweep.source = document;
  sweep.source["base"] = sweep.base;
  sweep.source["objective"] = sweep.objective;  // explicit: the default has changed before
  return sweep;
}

SweepConfig parse_sweep_file(const std::filesystem::path& file) {
  const std::string prefix = "sweep error: " + file.string() + ": ";
  const json document = read_json_file(file, "sweep");
  try {
    return parse_sweep(document, file.parent_path());
  } catch (const SpecError& e) {
    throw InputError(prefix + bare(e));
  } catch (const InputError& e) {
    throw InputError(prefix + e.what());
  }
}

}  // namespace lb::hparam
