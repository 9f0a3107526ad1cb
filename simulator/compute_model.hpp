#pragma once
// Per-layer compute time as a function of the per-GPU batch:
//   t(batch) = fixed_s + per_image_s * batch   (forward and backward apart)
// so a GPU's throughput b / t(b) rises with the batch and saturates: the
// occupancy curve of real devices. From, in order of preference: runtime
// profiles at two or more batch sizes (a least-squares line per layer), one
// profile (time proportional to the batch), or analytic: each layer's
// roofline (its FLOPs over the device's peak or its activation bytes over
// the memory bandwidth, whichever is longer) divided by an efficiency, plus
// a fixed cost per step spread over the layers (kernel launches, framework),
// both fitted to the device profile's single-GPU throughputs at several
// batch sizes (analytic_fit).
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
  // How far apart ranks' forward + backward times drift, relative to them:
  // ranks wait for the slowest of them. From the multi-rank CPU profiles
  // whose ranks each had a core, the spread their measured waits imply (see
  // fit_profiles); else the profiles' step-to-step relative std (0 for
  // analytic models).
  double compute_cv = 0;
  // The same spread where a node's ranks had more threads than it has cores
  // (profiles that record the node), and how many threads per core: the
  // scheduler time-slices such ranks, so at any moment some are off the
  // cores and they drift apart by up to a time slice. 0 = not measured.
  double shared_cores_cv = 0, shared_cores_load = 0;
  // How long such ranks wait at the all-reduce for the slowest of them: the
  // median over those profiles of the mean over ranks of each rank's
  // exposed communication (rank_exposed_comm_s). Ranks that take turns on a
  // core drift apart by a time the scheduler sets, not by a fraction of
  // their compute: on one 2-core VM, np = 4 ranks waited 7-32 ms a step (median 15)
  // whether a step's compute took 93 or 419 ms (2026-12-07). It includes
  // the all-reduce of their one bucket (about 1 MB; a millisecond or two).
  // 0 = not measured (profiles without rank_exposed_comm_s): the spread
  // above stands in for it.
  double shared_cores_wait_s = 0;
  // How much of the slowest rank's lead survives each all-reduce that runs
  // during backward on CPU ranks with a core each (StepPlan::
  // lead_kept_at_allreduce), from the calibration's bound runs that
  // all-reduce many times during backward: their measured wait against the
  // wait of the runs whose one all-reduce follows backward (see
  // fit_lead_kept). 1 = the lead is never cut (not measured).
  double lead_kept_at_allreduce = 1;
  // Whether ranks at `threads_per_core` (a node's ranks x threads / its
  // cores) take turns on the cores, as the time-sliced profiles measured:
  // any load above one thread per core, once such profiles exist. Not a
  // blend by the load: as soon as one rank must give up its core they drift
  // apart by the scheduler's slices, and on one 2-core VM np 3 ranks waited
  // 6-50 ms a step (median 19), no less than np 4's 5-40 (median 13;
  // 2026-12-07, w3-w5), where a line from one thread per core put np 3 half way.
  bool time_sliced(double threads_per_core) const;
  // The spread at `threads_per_core`: shared_cores_cv where time_sliced,
  // else compute_cv.
  double compute_cv_at(double threads_per_core) const;
  // CPU ranks on one node slow each other's compute through the caches and
  // memory they share, beyond taking turns on its cores: the multi-rank
  // profiles' forward over the single-rank lines' (median over those
  // profiles; forward, because backward also shares the cores with the
  // all-reduces, which the simulation models apart). The calibration's
  // multi-rank runs must not outnumber the cores, or taking turns counts
  // here too (profiles that record their node and outnumber its cores are
  // left out of it). Applied when a node with cores_per_node runs two or more
  // ranks; 1 when no profile measured it (and for GPUs).
  double co_run_factor = 1;
  // Per-GPU batches the model rests on (measured); 0 = none (assumed efficiency).
  double measured_min_batch = 0, measured_max_batch = 0;
  std::vector<std::string> warnings;  // fits that were capped or assumed

  double forward_s(double batch) const;
  double backward_s(double batch) const;
  // The part of forward + backward that does not grow with the batch
  // (kernel launches, framework dispatch): the step's fixed overhead.
  double fixed_s() const;
};

// The analytic fit for one model and precision on one device:
//   step(b) = fixed_s + roofline_per_image_s * b / efficiency
struct AnalyticFit {
  double efficiency = 1;                // fraction of the roofline reached per image
  double fixed_s = 0;                   // per step, including the optimizer
  double min_batch = 0, max_batch = 0;  // measured range; 0 = nothing measured
  std::string how;                      // one line: fitted to what, or assumed
  std::vector<std::string> warnings;
};
// `roofline_per_image_s`: forward + backward at 100 % of the roofline;
// `default_fixed_s`: the fixed time when fewer than two batch sizes are
// measured; `default_efficiency` when none is.
AnalyticFit analytic_fit(const std::vector<MeasuredThroughput>& points, double roofline_per_image_s,
                         double default_fixed_s, double default_efficiency, double optimizer_s);

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
// The compute model of a calibration file, validated; throws SpecError
// naming the JSON path under `path` (e.g. "compute.layers[3].forward_fixed_s").
ComputeModel compute_model_from_json(const nlohmann::json& j, const std::string& path);

// The median of `v` (the mean of the middle two for an even count); 0 if empty.
double median(std::vector<double> v);

// How many threads a node's ranks run per core: ranks on the node x threads
// per rank / cores; 0 when the node's cores or ranks are unknown (<= 0).
// Above 1 the scheduler time-slices them (ComputeModel::compute_cv_at).
double threads_per_core(int ranks_on_node, double threads_per_rank, int cores);
// The same of the node a profile ran on; 0 when it does not record its node
// or ran on GPUs (their compute does not take turns on the host's cores).
double node_threads_per_core(const RuntimeProfile& p);

// A least-squares line through (x, y) points; one distinct x gives a line
// through the origin.
Line fit_line(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace lb::sim
