#include "runtime/train/device_engines.hpp"

#include "runtime/core/errors.hpp"
#include "runtime/train/cpu_step_engine.hpp"
#include "runtime/train/cuda_engine.hpp"

namespace lb {

void require_device(const Spec& spec) {
  if (spec.device == "cpu") return;
  if (spec.device != "cuda") {
    // parse_spec validates the choice; this guards specs built in code.
    throw SpecError("device", "unknown device \"" + spec.device + "\" (cpu | cuda)");
  }
  const std::string why = cuda_unavailable_reason();
  if (!why.empty()) throw SpecError("device", "\"cuda\" is not available: " + why);
}

std::unique_ptr<StepEngine> make_step_engine(const EngineSetup& setup) {
  require_device(setup.spec);
  if (setup.spec.device == "cuda") return make_cuda_step_engine(setup);
  return std::make_unique<CpuStepEngine>(setup);
}

}  // namespace lb
