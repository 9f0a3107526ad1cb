#pragma once
// Chooses the StepEngine for the spec's `device`.
#include <memory>
#include <string>

#include "runtime/train/step_engine.hpp"

namespace lb {

// Throws SpecError("device", ...) when spec.device cannot train in this
// build on this machine: one line saying why (no CUDA backend built, no
// GPU). Cheap; the Trainer calls it before it reads any data.
void require_device(const Spec& spec);

// The engine for setup.spec.device. Collective with several ranks.
std::unique_ptr<StepEngine> make_step_engine(const EngineSetup& setup);

}  // namespace lb
