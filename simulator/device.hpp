#pragma once
// A GPU profile from experiments/devices/<name>.json: peak rates, the
// fraction of peak that training reaches, and published throughputs.
#include <filesystem>
#include <string>
#include <vector>

namespace lb::sim {

struct MeasuredThroughput {
  std::string model, precision;  // "resnet50", "fp16"
  double images_per_s = 0;
  double per_gpu_batch = 0;
};

struct DeviceProfile {
  std::string name;
  double fp32_tflops = 0, fp16_tflops = 0, memory_gbps = 0;
  double efficiency = 0.3;  // fraction of peak FLOPs that training reaches
  std::vector<MeasuredThroughput> measured;
};

// The default directory (the source tree's experiments/devices).
std::filesystem::path default_devices_dir();

// Looks `name` up case-insensitively; throws SpecError("cluster.gpu") naming
// the known GPUs when there is no such profile, InputError for a bad file.
DeviceProfile load_device(const std::filesystem::path& dir, const std::string& name);

}  // namespace lb::sim
