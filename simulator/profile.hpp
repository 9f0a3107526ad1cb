#pragma once
// The runtime's DIR/profile.json (format "largebatch-profile", version 1,
// written by lb-train; documented in experiments/SPEC.md), read for the
// compute model and for calibration.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace lb::sim {

struct ProfileLayer {
  std::string name, kind;
  std::int64_t params = 0;
  double forward_s = 0, backward_s = 0;  // medians per step at per_rank_batch
};

struct ProfileAllreduce {
  std::string algorithm;
  std::int64_t bytes = 0;  // wire bytes
  int ranks = 0;
  double median_s = 0;
};

struct RuntimeProfile {
  std::string file;  // where it came from, for messages
  std::string model, device, precision;
  std::int64_t per_rank_batch = 0;
  int ranks = 1;
  std::vector<ProfileLayer> layers;  // forward order
  double forward_s = 0, backward_s = 0, optimizer_s = 0, data_wait_s = 0, step_s = 0;
  double exposed_comm_s = 0;
  double compute_cv = 0;  // step-to-step relative std of forward + backward (0 if absent)
  std::string comm_algorithm = "auto";
  std::int64_t fusion_bytes = 0;
  bool fp16_gradients = false, overlap = true;
  std::vector<ProfileAllreduce> allreduce;
};

// Throws InputError("profile error: FILE: ...") for a missing, malformed or
// wrong-format file. Accepts DIR (reads DIR/profile.json) or the file itself.
RuntimeProfile load_profile(const std::filesystem::path& path);

}  // namespace lb::sim
