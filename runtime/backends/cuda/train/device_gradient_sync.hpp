#pragma once
// Tensor fusion and overlap on the GPU, as GradientSync does it on the CPU:
// the same bucket plan (bucket_plan.hpp, gradients in backward order), each
// bucket all-reduced (mean) with NcclAllreducer as soon as its last
// gradient is final. Since DeviceTrainingState lays the fp32 gradients out
// in backward order, a bucket is a contiguous slice reduced in place: no
// packing. Nothing blocks the host: a bucket's all-reduce waits on the
// communication stream for an event on the compute stream, and finish()
// makes the compute stream (the optimizer) wait for all of them.
// With comm.fp16_gradients a bucket goes over the wire as fp16: converted
// into a half staging copy before, back after.
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "runtime/backends/cuda/caching_allocator.hpp"
#include "runtime/backends/cuda/device_buffer.hpp"
#include "runtime/backends/cuda/event.hpp"
#include "runtime/backends/cuda/nccl_allreducer.hpp"
#include "runtime/comm/bucket_launch_order.hpp"
#include "runtime/comm/bucket_plan.hpp"
#include "runtime/comm/gradient_sync.hpp"  // BucketTiming

namespace lb::cuda {

class DeviceGradientSync {
 public:
  // `gradients`: the fp32 gradients in backward order (device memory);
  // tensor i has `sizes[i]` elements from `offsets[i]` on, in increasing
  // order; what lies between tensors (alignment) is zero.
  DeviceGradientSync(NcclAllreducer& reducer, std::span<float> gradients,
                     std::span<const std::size_t> sizes, std::span<const std::size_t> offsets,
                     std::int64_t fusion_bytes, bool fp16_wire, CachingAllocator& allocator);

  void begin_step();
  // Gradient `index` (backward order) is final once the work enqueued on
  // `compute` so far is done. Buckets launch strictly in order.
  void ready(std::size_t index, cudaStream_t compute);
  // Every gradient at once: without overlap, after backward.
  void ready_all(cudaStream_t compute);
  // Makes `compute` wait for every bucket's all-reduce (and fp16 wire's
  // conversion back). Throws std::logic_error if a bucket never became ready.
  void finish(cudaStream_t compute);

  const std::vector<Bucket>& buckets() const { return buckets_; }
  // After the step has finished: each bucket's all-reduce in seconds since `step_start`.
  std::vector<BucketTiming> timings(const Event& step_start) const;

 private:
  void launch(std::size_t bucket, cudaStream_t compute);
  std::span<float> slice(std::size_t bucket) const;

  NcclAllreducer& reducer_;
  std::span<float> gradients_;
  bool fp16_wire_;
  Algorithm algorithm_;  // as reported: what NcclAllreducer runs
  std::vector<Bucket> buckets_;
  std::vector<std::size_t> first_element_;  // per bucket, in gradients_
  std::vector<std::size_t> span_elements_;  // per bucket: its tensors and the gaps between
  BucketLaunchOrder order_;                 // buckets launch strictly in order
  DeviceBuffer<half_bits> wire_;            // fp16 staging, the gradients' layout
  std::vector<std::unique_ptr<Event>> ready_, start_, done_;
};

}  // namespace lb::cuda
