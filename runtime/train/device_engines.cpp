#include "runtime/train/device_engines.hpp"

#include <string>

#include "runtime/core/errors.hpp"
#include "runtime/train/cpu_step_engine.hpp"
#include "runtime/train/cuda_engine.hpp"

namespace lb {

void require_device(const Spec& spec) {
  if (spec.device == DeviceKind::cpu) return;
  if (spec.train.bn_ghost_batch > 0) {
    throw SpecError("train.bn_ghost_batch",
                    "ghost batch normalisation runs on the CPU backend only; expected 0 with "
                    "device \"cuda\", got " +
                        std::to_string(spec.train.bn_ghost_batch));
  }
  const std::string why = cuda_unavailable_reason();
  if (!why.empty()) throw SpecError("device", "\"cuda\" is not available: " + why);
}

std::unique_ptr<StepEngine> make_step_engine(const EngineSetup& setup) {
  require_device(setup.spec);
  if (setup.spec.device == DeviceKind::cuda) return make_cuda_step_engine(setup);
  return std::make_unique<CpuStepEngine>(setup);
}

}  // namespace lb
