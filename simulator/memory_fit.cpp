#include "simulator/memory_fit.hpp"

#include <cstdio>

#include "runtime/core/batch_arithmetic.hpp"
#include "simulator/memory_model.hpp"

namespace lb::sim {

MemoryFit device_memory_fit(const Scenario& s, int gpus) {
  if (!s.cluster.is_gpu_cluster() || s.device.memory_gib <= 0) {
    return {std::nullopt, "memory fit not checked: the cluster has no GPU memory size"};
  }
  const std::int64_t batch = per_rank_batch(s.spec.train.global_batch, gpus);
  const double need = memory_per_gpu(s.spec, s.model, batch).total_gib();
  if (need <= s.device.memory_gib) return {true, ""};
  char text[256];
  std::snprintf(text, sizeof text, "%lld images per GPU need about %.1f GiB, the %s has %g GiB",
                (long long)batch, need, s.device.name.c_str(), s.device.memory_gib);
  return {false, text};
}

}  // namespace lb::sim
