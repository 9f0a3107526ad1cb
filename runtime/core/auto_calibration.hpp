#pragma once
// The `auto` algorithm's choice by bucket size, measured rather than guessed:
// `allreduce-bench --write-auto-calibration FILE` times every algorithm at
// every size on the job's own ranks and writes which one was fastest where;
// `comm.auto_calibration: FILE` in a spec makes `auto` follow it. The format
// is documented in experiments/SPEC.md ("The auto calibration file").
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "runtime/core/comm_algorithm.hpp"
#include "runtime/core/fusion_rule.hpp"

namespace lb {

inline constexpr const char* kAutoCalibrationFormat = "largebatch-auto-allreduce/1";

// One measured size: seconds per algorithm name.
struct SizeTimings {
  std::int64_t bytes = 0;
  std::map<std::string, double> seconds;
};

struct AutoCalibration {
  int ranks = 0, group_size = 0;
  bool fp16_wire = false;
  std::vector<AutoRule> rules;
  // The all-reduce's cost as measured (the fastest algorithm at each size),
  // for comm.fusion_bytes "auto"; nullopt when the file has too few sizes.
  std::optional<AllreduceCost> measured_cost;
};

// fixed_s + per_byte_s·B through the fastest time at each size: per_byte_s
// the slope between the two largest sizes (bandwidth-bound), fixed_s what
// is left of the smallest size's time (latency-bound), at least 0. nullopt
// with fewer than two sizes or a slope that is not positive. `timings`
// sorted by size.
std::optional<AllreduceCost> fit_allreduce_cost(const std::vector<SizeTimings>& timings);

// The fastest algorithm at each measured size, neighbouring sizes with the
// same winner merged; a boundary lies at the geometric mean of the two sizes
// around it. `timings` sorted by size, each with at least one algorithm.
std::vector<AutoRule> fastest_rules(const std::vector<SizeTimings>& timings);

// The file's JSON: format, ranks, group_size, fp16_wire, rules, and the
// measurements they came from.
nlohmann::json auto_calibration_json(const AutoCalibration& c,
                                     const std::vector<SizeTimings>& measured);

// What a calibration file was measured with: it holds only for a job with
// the same ranks and group size.
struct AutoCalibrationShape {
  int ranks = 0, group_size = 0;
};
bool auto_calibration_fits(AutoCalibrationShape measured, int ranks, int group_size);
// Throws InputError("comm.auto_calibration: FILE: measured with ...") unless it fits.
void require_auto_calibration_fits(const std::string& file, AutoCalibrationShape measured,
                                   int ranks, int group_size);

// Reads and checks a calibration file. Throws InputError naming the file and
// what is wrong ("comm.auto_calibration: FILE: ...").
AutoCalibration load_auto_calibration(const std::filesystem::path& file);

}  // namespace lb
