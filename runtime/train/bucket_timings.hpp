#pragma once
// Writes what the gradient buckets' all-reduces did in one step to the
// trace (track 1) and the profile, the same way for every device.
#include <cstdint>
#include <span>

#include "runtime/comm/gradient_sync.hpp"
#include "runtime/trace/trace_writer.hpp"
#include "runtime/train/step_profile.hpp"

namespace lb {

// `step_start_us`: trace time that BucketTiming's start_s and end_s count
// from. With `fp16_gradients` the bytes on the wire are half the fp32 size,
// except for MPI_Allreduce, which always sends fp32.
void record_bucket_timings(std::span<const BucketTiming> timings, double step_start_us,
                           bool fp16_gradients, std::int64_t step, TraceWriter& trace,
                           StepProfile& profile);

}  // namespace lb
