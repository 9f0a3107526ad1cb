#pragma once
// Calibration: latency and bandwidth of a link class fitted to measured
// all-reduce times, and per-layer compute lines fitted to runtime profiles.
//
// Every measured all-reduce (allreduce-bench --json rows, profile.json
// "allreduce" entries) ran on one node here, so its ranks are taken to share
// one link class ("intra"). Under alpha-beta each algorithm's time is
//   T = steps * alpha + busiest_link_bytes / B
// summed over its phases (collectives.hpp), linear in (alpha, 1/B): a least
// squares fit over the rows of our own algorithms (ring, hierarchical,
// torus2d). MPI_Allreduce's internals are Open MPI's, so its rows are
// reported with residuals but not fitted.
//
// The link is what a message costs on cores with nothing else to do:
// allreduce-bench's rows when there are any (the profiles' otherwise). The
// all-reduces measured inside training are reported beside it, not fitted:
// their wall time is mostly waiting for the other ranks (on one 2-core VM a
// 40 B all-reduce at np = 4 took 81 us or 16 ms depending on where in the
// step it ran: ranks that take turns on the cores reach a bucket up to a
// scheduling slice apart), which the straggler term models, not the link.
// What they do on the cores is what slows compute beside them: their
// thread's CPU time (profile.json's median_cpu_s), fitted as
//   cpu = cpu_per_call + busiest_link_bytes * cpu_per_byte
// (copies and reductions per byte; per call, waking the thread and the
// spinning before its first sleep). Per call, not per exchange step: on one
// VM a small ring all-reduce cost 39-41 us of CPU at np = 2 (2 steps) and
// 24-26 us at np = 4 (6 steps), where a step's peers are mostly ahead and
// its wait ends without spinning. Beyond its CPU time each call costs
// compute more (the thread sleeps between polls and every wake preempts
// compute and evicts part of its caches): fitted per call from the profiles
// with many all-reduces a step, as their backward beyond the single-rank
// line scaled by the same run's forward slowdown, less the thread's CPU time
// (CommCpuCost::disturbance_s; ~100 us a call on an AVX-512 VM, ~250 us on
// an AVX2 one). Only ranks with cores of their own pay it: ranks that take
// turns on a core show none (their core switches between ranks anyway).
// simulate-scaling runs all of it on the rank's share of the node's cores
// beside compute (scaling.cpp, iteration.hpp).
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
  bool in_training = false;  // a profile's (beside backward), not allreduce-bench's
  double cpu_s = 0;          // its thread's CPU time; 0 = not measured
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
// The same of a planned collective.
std::pair<double, double> alpha_beta_features(const std::vector<Phase>& phases);

struct LinkFit {
  LinkClass link;
  int rows = 0;
  double median_abs_error = 0, max_abs_error = 0;  // relative
};

struct CommCpuFit {
  CommCpuCost cost;
  int rows = 0;
  double median_abs_error = 0, max_abs_error = 0;  // relative
  int disturbance_profiles = 0;                    // profiles cost.disturbance_s rests on
};

struct Calibration {
  std::optional<LinkFit> intra;
  std::optional<CommCpuFit> comm_cpu;
  std::optional<ComputeModel> compute;
  nlohmann::json residuals = nlohmann::json::array();
};

Calibration calibrate(const CalibrationInputs& inputs);
nlohmann::json to_json(const Calibration& c);

// Reads cal.json; throws InputError("calibration error: FILE: ...") for a
// file that is not one, or holds non-finite, negative or out-of-range values.
Calibration load_calibration(const std::filesystem::path& file);

}  // namespace lb::sim
