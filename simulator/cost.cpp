#include "simulator/cost.hpp"

namespace lb::sim {

RunCost run_cost(int gpus, double seconds, double price_per_gpu_hour) {
  const double gpu_hours = double(gpus) * seconds / 3600;
  return {gpu_hours, gpu_hours * price_per_gpu_hour};
}

}  // namespace lb::sim
