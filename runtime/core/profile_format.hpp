#pragma once
// profile.json, the measured training step that lb-train writes (rank 0,
// runtime/train/step_profile.cpp) and simulate-scaling reads (calibration
// and --profile). This is its one definition: the struct, the writer and the
// validating reader both sides use. Format "largebatch-profile", version 1,
// documented key by key in experiments/SPEC.md ("profile.json").
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lb {

inline constexpr const char* kProfileFormat = "largebatch-profile";
inline constexpr int kProfileVersion = 1;

struct ProfileLayer {  // one row of the model's cost table with its measured times
  std::string name, kind;
  std::int64_t params = 0;
  double forward_flops = 0;              // at the profile's per-rank batch
  double forward_s = 0, backward_s = 0;  // medians per step
};

struct ProfileAllreduce {  // one (algorithm, bytes) that ran
  std::string algorithm;
  std::int64_t bytes = 0;  // as sent (wire bytes)
  int ranks = 0;
  double median_s = 0;
  std::int64_t count = 0;
  // Median CPU time of the thread that ran it (0 = not measured: profiles
  // written before it was, or a device whose collectives run off the CPU).
  double median_cpu_s = 0;
};

struct ProfileComm {
  std::string algorithm = "auto";
  std::int64_t fusion_bytes = 0;
  bool fp16_gradients = false, overlap = true;
  int group_size = 0, buckets = 0;
};

struct Profile {
  std::string model, device, device_name, precision = "fp32", optimizer;
  int threads = 0;
  std::int64_t per_rank_batch = 1;
  int ranks = 1;
  // The node the ranks ran on (0 = not recorded: older profiles): how many
  // of them shared it and its cores. With more threads than cores the
  // scheduler time-slices the ranks, which skews them against each other.
  int ranks_per_node = 0, node_cores = 0;
  // Cores rank 0 was allowed to run on (its affinity mask; 0 = not
  // recorded): fewer than node_cores when the launcher bound the ranks.
  int cpus_allowed = 0;
  std::int64_t steps = 0;  // steps the medians are over
  ProfileComm comm;
  std::vector<ProfileLayer> layers;         // forward order
  std::vector<std::string> gradient_order;  // layers with parameters, as backward finished them
  // Medians per step, seconds.
  double forward_s = 0, backward_s = 0, exposed_comm_s = 0, optimizer_s = 0;
  double data_wait_s = 0, data_prepare_s = 0, step_s = 0;
  double compute_cv = 0;  // std / mean of forward + backward over the steps
  // Every rank's median forward + backward per step, by rank (empty = not
  // recorded: one rank, or profiles written before it was). The step goes
  // at the slowest rank's pace; rank 0's own times above need not be it.
  std::vector<double> rank_compute_s;
  // Every rank's median exposed communication per step, by rank (the same
  // rules). A rank waits for the slowest one, so rank 0's own wait is
  // large or near 0 depending on which it happened to be; their mean is the
  // job's exposed communication.
  std::vector<double> rank_exposed_comm_s;
  std::vector<ProfileAllreduce> allreduce;
};

nlohmann::json to_json(const Profile& p);

// Reads and validates a profile document (every key optional except
// "format", "version", "model", "per_rank_batch" and "layers"; times finite
// and >= 0; unknown keys refused). Throws InputError("profile error: FILE:
// PATH: ...") naming the file and the JSON path.
Profile profile_from_json(const nlohmann::json& doc, const std::string& file);

}  // namespace lb
