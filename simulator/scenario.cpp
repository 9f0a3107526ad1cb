#include "simulator/scenario.hpp"

#include <fstream>
#include <optional>
#include <stdexcept>

#include "runtime/core/auto_calibration.hpp"
#include "runtime/core/batch_arithmetic.hpp"
#include "runtime/core/errors.hpp"
#include "simulator/calibration.hpp"
#include "simulator/profile.hpp"

namespace lb::sim {
namespace {

// Compute model: a calibration's if it is for this model, else profiles, else analytic.
ComputeModel choose_compute(const ScenarioInputs& in, const Spec& spec, const ModelInfo& model,
                            const DeviceProfile& device, const std::optional<Calibration>& cal) {
  if (cal && cal->compute) {
    if (cal->compute->model != model.name) {
      throw InputError("calibration error: " + in.calibration + ": compute model is for \"" +
                       cal->compute->model + "\", the spec's model.name is \"" + model.name + "\"");
    }
    return *cal->compute;
  }
  if (!in.profiles.empty()) {
    std::vector<RuntimeProfile> profiles;
    for (const auto& p : in.profiles) profiles.push_back(load_profile(p));
    return fitted_compute_model(model, profiles);
  }
  return analytic_compute_model(model, device, spec.train.precision);
}

// Stragglers: measured by the profiles behind the compute model, else the
// spec's cluster.compute_cv (given, or its estimated default).
void choose_compute_cv(Scenario& s, bool measured) {
  if (measured) {
    s.compute_cv = s.compute.compute_cv;
    s.compute_cv_measured = true;
    s.compute_cv_source = "measured (the profiles' compute_cv)";
    return;
  }
  s.compute_cv = s.spec.cluster.compute_cv;
  const nlohmann::json& src = s.spec.source;
  const bool given = src.contains("cluster") && src["cluster"].is_object() &&
                     src["cluster"].contains("compute_cv");
  s.compute_cv_source = given ? "cluster.compute_cv"
                              : "cluster.compute_cv default, estimated from GPU-to-GPU speed "
                                "variation in large clusters (SPEC.md)";
}

void load_auto_rules(Scenario& s) {
  if (s.spec.comm.auto_calibration.empty()) return;
  const AutoCalibration c = load_auto_calibration(s.spec.comm.auto_calibration);
  s.auto_calibration_file = s.spec.comm.auto_calibration;
  s.auto_rules = c.rules;
  s.auto_ranks = c.ranks;
  s.auto_group_size = c.group_size;
}

// MemAvailable from /proc/meminfo in bytes; 0 when unknown.
double available_memory_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kib = 0;
  while (in >> key >> kib) {
    if (key == "MemAvailable:") return kib * 1024;
    in.ignore(256, '\n');
  }
  return 0;
}

// What a prediction at `gpus` GPUs holds at once: the topology's links, one
// phase's flows with their routes, and the max-min solver's arrays. Measured:
// 54 MB peak at 65,536 GPUs against 38 MB at 2,048 (simulator/VALIDATION.md),
// about 0.25 KB per GPU; counted here as 2.4 KB per GPU (a margin for
// algorithms with more flows per phase) plus 64 MiB.
double simulation_bytes(int gpus) { return 2400.0 * gpus + double(64 << 20); }

}  // namespace

Scenario make_scenario(const ScenarioInputs& in) {
  Scenario s;
  s.spec = load_spec(in.spec, in.overrides);
  s.device = load_device(in.device_dirs, s.spec.cluster.gpu);
  s.model = model_info(s.spec);
  s.cluster = cluster_model(s.spec.cluster);
  std::optional<Calibration> cal;
  if (!in.calibration.empty()) cal = load_calibration(in.calibration);
  if (cal && cal->intra) s.cluster.intra = cal->intra->link;
  if (cal && cal->comm_cpu) s.cluster.comm_cpu = cal->comm_cpu->cost;
  s.compute = choose_compute(in, s.spec, s.model, s.device, cal);
  choose_compute_cv(s, (cal && cal->compute) || !in.profiles.empty());
  load_auto_rules(s);
  return s;
}

void check_gpus(const Scenario& s, const std::vector<int>& gpus) {
  const std::int64_t global = s.spec.train.global_batch;
  const Algorithm algorithm = s.spec.comm.algorithm;
  const std::int64_t per_epoch = steps_per_epoch(s.model.train_images, global);
  if (per_epoch == 0) {
    throw SpecError("train.global_batch", "expected at most the " +
                                              std::to_string(s.model.train_images) +
                                              " training images, got " + std::to_string(global));
  }
  epochs_to_steps(s.spec.train.epochs, per_epoch);  // throws for a count that overflows
  const double available = available_memory_bytes();
  for (int n : gpus) {
    if (n > kMaxGpus) {
      throw InputError("--gpus: expected at most " + std::to_string(kMaxGpus) + " GPUs, got " +
                       std::to_string(n));
    }
    check_fits(s.spec.cluster, n);
    if (n > global) {
      throw InputError("--gpus: " + std::to_string(n) + " GPUs exceed train.global_batch " +
                       std::to_string(global) + " (less than one image per GPU)");
    }
    per_rank_batch(global, n);  // throws unless n divides the global batch, as lb-train does
    check_group_size(algorithm, n,
                     resolve_group_size(s.spec.comm.group_size, s.cluster.gpus_per_node, n));
    if (available > 0 && simulation_bytes(n) > available) {
      throw std::runtime_error("simulating " + std::to_string(n) + " GPUs needs about " +
                               std::to_string(int(simulation_bytes(n) / (1 << 20))) +
                               " MiB, this machine has " +
                               std::to_string(int(available / (1 << 20))) + " MiB available");
    }
  }
}

}  // namespace lb::sim
