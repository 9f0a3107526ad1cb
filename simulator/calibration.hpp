#pragma once
// Calibration: latency and bandwidth of a link class fitted to measured
// all-reduce times, and per-layer compute lines fitted to runtime profiles.
//
// Every measured all-reduce (allreduce-bench --json rows, profile.json
// "allreduce" entries) ran on one node here, so its ranks are taken to share
// one link class ("intra"). Under alpha-beta each algorithm's time is
//   T = steps * alpha + busiest_link_bytes / B
// summed over its phases (collectives.hpp), linear in (alpha, 1/B): a least
// squares fit over all rows of our own algorithms (ring, hierarchical,
// torus2d). MPI_Allreduce's internals are Open MPI's, so its rows are
// reported with residuals but not fitted.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "runtime/core/spec.hpp"
#include "simulator/cluster.hpp"
#include "simulator/collectives.hpp"
#include "simulator/compute_model.hpp"
#include "simulator/profile.hpp"

namespace lb::sim {

struct AllreduceSample {
  std::string source;  // file it came from
  std::string algorithm;
  int ranks = 0;
  std::int64_t bytes = 0;  // wire bytes
  double time_s = 0;
  bool fp16_wire = false;
};

// Reads --from arguments: a run directory (DIR/profile.json), a profile.json,
// or a file of allreduce-bench --json lines (its --model rows are skipped).
struct CalibrationInputs {
  std::vector<RuntimeProfile> profiles;
  std::vector<AllreduceSample> samples;
};
CalibrationInputs read_calibration_inputs(const std::vector<std::filesystem::path>& from);

// alpha-beta features of one all-reduce when all ranks share one link class:
// (number of sequential steps, bytes through the busiest link summed over steps).
std::pair<double, double> alpha_beta_features(Algorithm c, std::uint64_t bytes, int ranks,
                                              int group_size, int wire_bytes);

struct LinkFit {
  LinkClass link;
  int rows = 0;
  double median_abs_error = 0, max_abs_error = 0;  // relative
};

struct Calibration {
  std::optional<LinkFit> intra;
  std::optional<ComputeModel> compute;
  nlohmann::json residuals = nlohmann::json::array();
};

Calibration calibrate(const CalibrationInputs& inputs);
nlohmann::json to_json(const Calibration& c);

// Reads cal.json; throws InputError("calibration error: FILE: ...") for a
// file that is not one, or holds non-finite, negative or out-of-range values.
Calibration load_calibration(const std::filesystem::path& file);

}  // namespace lb::sim
