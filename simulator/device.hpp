#pragma once
// A GPU profile from experiments/devices/<name>.json: datasheet peaks and
// memory, and single-GPU training throughputs measured at one or more
// per-GPU batch sizes (the compute model is fitted to them; compute_model.hpp).
#include <filesystem>
#include <string>
#include <vector>

namespace lb::sim {

struct MeasuredThroughput {      // one GPU training alone: never a multi-GPU result
  std::string model, precision;  // "resnet50", "fp16"
  double images_per_s = 0;
  double per_gpu_batch = 0;
  std::string source;  // where the figure was published
};

struct DeviceProfile {
  std::string name;
  std::string file;  // where it was read from
  double fp32_tflops = 0, fp16_tflops = 0;
  double tf32_tflops =
      0;  // tensor-core TF32 (Ampere and later): what fp32 training runs on; 0 = none
  double memory_gbps = 0;  // GB/s
  double memory_gib = 0;   // device memory
  // Fraction of the roofline (peak FLOPs, memory bandwidth) a layer reaches
  // when no measured throughput exists for a model and precision.
  double efficiency = 0.5;
  // Fixed cost per layer and pass (kernel launches, framework dispatch) when
  // fewer than two batch sizes are measured for a model and precision.
  double kernel_overhead_us = 20;
  std::vector<MeasuredThroughput> measured;
};

// The built-in directory (the source tree's experiments/devices).
std::filesystem::path default_devices_dir();

// Looks `name` up case-insensitively in `dirs` in order (a later directory
// adds profiles, an earlier one wins). Throws SpecError("cluster.gpu") for a
// name that is not a plain device name (a path) or has no profile (naming
// the known ones), InputError for a bad file.
DeviceProfile load_device(const std::vector<std::filesystem::path>& dirs, const std::string& name);

}  // namespace lb::sim
