#pragma once
// Checks that refuse a run this machine cannot carry out, or one whose
// result would mean nothing, with a spec or data error before anything is
// allocated or written (or, for check_some_step_applied, a runtime error
// instead of a finished-looking run).
#include <cstdint>

#include "runtime/core/spec.hpp"
#include "runtime/data/sample_source.hpp"
#include "runtime/models/model.hpp"

namespace lb {

// More threads than this many per hardware thread only thrash (and at tens
// of thousands, thread creation fails).
inline constexpr int kThreadsPerHardwareThread = 4;

// train.threads and data.workers against the hardware threads.
void check_host_limits(const Spec& spec);

// A synthetic data set must fit in memory (its images are generated up front).
void check_data_memory(const Spec& spec);

// The model's parameters with their optimizer state, one step's activations
// and the prefetch queue's batches must fit in memory.
void check_training_memory(const Spec& spec, const Model& model, std::int64_t per_rank_batch);

// The network is built for the training images' shape: the test images
// must have it too. Throws DataError naming the test set.
void check_same_shape(const SampleShape& train, const SampleShape& test, const DataSpec& data);

// A finished run none of whose steps was applied (every one skipped for
// inf/NaN gradients) trained nothing: throws std::runtime_error saying so.
void check_some_step_applied(std::int64_t step, std::int64_t total_steps, std::int64_t skipped,
                             double loss_scale);

}  // namespace lb
