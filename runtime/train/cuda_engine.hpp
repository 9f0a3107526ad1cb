#pragma once
// The CUDA engine's entry points. Defined by the CUDA backend when it is
// built (runtime/backends/cuda/train/cuda_engine_entry.cpp), otherwise by a
// stub that says so (runtime/backends/cuda/unavailable/); CMake links one
// of the two into lb_train, so no code here asks which.
#include <memory>
#include <string>

#include "runtime/train/step_engine.hpp"

namespace lb {

// Empty when device: "cuda" can train here; otherwise why not, one line
// (e.g. "this build has no CUDA backend", "no CUDA GPU: ...").
std::string cuda_unavailable_reason();

// Throws SpecError("device", ...) when cuda_unavailable_reason() is not empty.
std::unique_ptr<StepEngine> make_cuda_step_engine(const EngineSetup& setup);

}  // namespace lb
