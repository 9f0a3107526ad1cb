// lb_train's CUDA entry points in a build without the CUDA backend
// (LB_CUDA=OFF, or nvcc, cuDNN or NCCL not found at configure time).
#include "runtime/core/errors.hpp"
#include "runtime/train/cuda_engine.hpp"

namespace lb {

std::string cuda_unavailable_reason() {
  return "this build has no CUDA backend (configured with LB_CUDA=OFF, or without nvcc, cuDNN "
         "or NCCL; see runtime/backends/cuda/README.md)";
}

std::unique_ptr<StepEngine> make_cuda_step_engine(const EngineSetup& /*setup*/) {
  throw SpecError("device", "\"cuda\" is not available: " + cuda_unavailable_reason());
}

}  // namespace lb
