#include "runtime/train/bucket_timings.hpp"

#include <string>

namespace lb {

void record_bucket_timings(std::span<const BucketTiming> timings, double step_start_us,
                           bool fp16_gradients, std::int64_t step, TraceWriter& trace,
                           StepProfile& profile) {
  const int wire_bytes_per_element = fp16_gradients ? 2 : 4;
  for (const BucketTiming& t : timings) {
    const bool fp16_wire = wire_bytes_per_element == 2 && t.algorithm != Algorithm::mpi;
    const std::size_t wire_bytes = fp16_wire ? t.bytes / 2 : t.bytes;
    profile.add_allreduce(to_string(t.algorithm), wire_bytes, t.end_s - t.start_s, t.cpu_s);
    trace.complete("allreduce bucket " + std::to_string(t.bucket), "allreduce",
                   step_start_us + t.start_s * 1e6, (t.end_s - t.start_s) * 1e6, 1,
                   {{"bytes", wire_bytes}, {"algorithm", to_string(t.algorithm)}, {"step", step}});
  }
}

}  // namespace lb
