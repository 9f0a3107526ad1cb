#pragma once
// The {"validation_accuracy": 0.9} object: train.stop_at in a spec, and the
// target of a convergence model (simulator/convergence.hpp). One reader, so
// both accept the same metrics with the same ranges.
#include "runtime/core/json_reader.hpp"
#include "runtime/core/spec.hpp"

namespace lb {

// At most one metric (validation_accuracy, test_accuracy in (0, 1];
// validation_loss, test_loss > 0) and its target; {} leaves `stop` disabled.
// Throws SpecError naming the JSON path. Defined in spec.cpp.
void read_stop_at(ObjectReader r, StopAtSpec& stop);

}  // namespace lb
