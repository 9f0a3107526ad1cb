// lb_train's CUDA entry points (runtime/train/cuda_engine.hpp) in a build
// with the CUDA backend.
#include <algorithm>

#include "runtime/backends/cuda/device.hpp"
#include "runtime/backends/cuda/train/cuda_step_engine.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/train/cuda_engine.hpp"

namespace lb {

std::string cuda_unavailable_reason() {
  std::string why;
  if (cuda::device_count(&why) > 0) return "";
  std::replace(why.begin(), why.end(), '\n', ' ');  // the error report is one line
  return "no CUDA GPU (" + why + ")";
}

std::unique_ptr<StepEngine> make_cuda_step_engine(const EngineSetup& setup) {
  const std::string why = cuda_unavailable_reason();
  if (!why.empty()) throw SpecError("device", "\"cuda\" is not available: " + why);
  return std::make_unique<cuda::CudaStepEngine>(setup);
}

}  // namespace lb
