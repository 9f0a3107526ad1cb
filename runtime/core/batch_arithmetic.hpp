#pragma once
// The arithmetic that turns a spec's global batch and epochs into per-rank
// batches and step counts. lb-train and simulate-scaling both call these, so
// a configuration the simulator predicts is the one the runtime would run.
#include <cstdint>

namespace lb {

// Images each of `ranks` ranks computes per step. Throws
// SpecError("train.global_batch") unless `ranks` divides `global_batch`
// (a fractional per-rank batch does not exist).
std::int64_t per_rank_batch(std::int64_t global_batch, std::int64_t ranks);

// Optimizer steps in one epoch of `images`: the last partial batch is dropped
// (0 when the global batch exceeds the data set).
std::int64_t steps_per_epoch(std::int64_t images, std::int64_t global_batch);

// round(epochs x steps per epoch), at least 1. Throws SpecError("train.epochs")
// when the count would not fit a 64-bit integer exactly (more than 2^53 steps).
std::int64_t epochs_to_steps(double epochs, std::int64_t steps_per_epoch);

}  // namespace lb
