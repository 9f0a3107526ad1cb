#pragma once
// Per-layer compute time as a function of the per-GPU batch:
//   t(batch) = fixed_s + per_image_s * batch   (forward and backward apart)
// from, in order of preference: runtime profiles at two or more batch sizes
// (a least-squares line per layer), one profile (time proportional to the
// batch), or the zoo's FLOPs over the device's peak times an efficiency
// (backward = 2x forward), the efficiency fitted to a published throughput
// when the device profile has one for this model and precision.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/core/precision.hpp"
#include "simulator/device.hpp"
#include "simulator/model_info.hpp"
#include "simulator/profile.hpp"

namespace lb::sim {

struct Line {
  double fixed_s = 0, per_image_s = 0;
  double at(double batch) const { return std::max(0.0, fixed_s + per_image_s * batch); }
};

struct LayerTimeModel {
  std::string name, kind;
  std::int64_t params = 0;
  Line forward, backward;
};

struct ComputeModel {
  std::string model;
  std::string source;                  // "analytic: P40 fp16 ...", "profile: 1 batch size", ...
  std::vector<LayerTimeModel> layers;  // forward order
  double optimizer_s = 0;              // per step, independent of the batch
  // Step-to-step relative std of a rank's forward + backward time (from the
  // profiles; 0 for analytic models): ranks wait for the slowest of them.
  double compute_cv = 0;
  // CPU ranks on one node slow each other's compute through the caches and
  // memory they share, beyond taking turns on its cores: the multi-rank
  // profiles' forward + backward over the single-rank lines' (median over
  // those profiles). Applied when a node with cores_per_node runs two or
  // more ranks; 1 when no profile measured it (and for GPUs).
  double co_run_factor = 1;

  double forward_s(double batch) const;
  double backward_s(double batch) const;
};

ComputeModel analytic_compute_model(const ModelInfo& model, const DeviceProfile& device,
                                    Precision precision);

// Checks every profile against the model (same model name; every leaf with
// parameters present with the same count) and fits. Throws InputError naming
// the profile file and the mismatch.
ComputeModel fitted_compute_model(const ModelInfo& model,
                                  const std::vector<RuntimeProfile>& profiles);
// The fit alone (calibrate, which has no spec): profiles must share a model.
// With both single-rank and multi-rank profiles, the lines come from the
// single-rank ones and the multi-rank ones give co_run_factor.
ComputeModel fit_profiles(const std::vector<RuntimeProfile>& profiles);

nlohmann::json to_json(const ComputeModel& m);
ComputeModel compute_model_from_json(const nlohmann::json& j, const std::string& where);

// The median of `v` (the mean of the middle two for an even count); 0 if empty.
double median(std::vector<double> v);

// A least-squares line through (x, y) points; one distinct x gives a line
// through the origin.
Line fit_line(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace lb::sim
