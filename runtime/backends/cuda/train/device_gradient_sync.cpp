#include "runtime/backends/cuda/train/device_gradient_sync.hpp"

#include <stdexcept>
#include <string>

#include "runtime/backends/cuda/cuda_error.hpp"
#include "runtime/backends/cuda/elementwise.hpp"

namespace lb::cuda {
namespace {

// NcclAllreducer runs ncclAllReduce for mpi and auto: on device memory NCCL
// is the native library and picks ring or tree itself.
Algorithm reported(Algorithm a) {
  return a == Algorithm::hierarchical || a == Algorithm::torus2d ? a : Algorithm::ring;
}

}  // namespace

DeviceGradientSync::DeviceGradientSync(NcclAllreducer& reducer, std::span<float> gradients,
                                       std::span<const std::size_t> sizes,
                                       std::span<const std::size_t> offsets,
                                       std::int64_t fusion_bytes, bool fp16_wire,
                                       CachingAllocator& allocator)
    : reducer_(reducer),
      gradients_(gradients),
      fp16_wire_(fp16_wire),
      algorithm_(reported(reducer.config().algorithm)),
      buckets_(plan_buckets(sizes, fusion_bytes)),
      order_(buckets_, sizes.size()) {
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    const std::vector<std::size_t>& tensors = buckets_[b].tensors;
    first_element_.push_back(offsets[tensors.front()]);
    span_elements_.push_back(offsets[tensors.back()] + sizes[tensors.back()] -
                             offsets[tensors.front()]);
    if (first_element_.back() + span_elements_.back() > gradients_.size()) {
      throw std::logic_error("gradient bucket beyond the gradients");
    }
    ready_.push_back(std::make_unique<Event>());
    start_.push_back(std::make_unique<Event>(/*timing=*/true));
    done_.push_back(std::make_unique<Event>(/*timing=*/true));
  }
  if (fp16_wire_) wire_ = DeviceBuffer<half_bits>(allocator, gradients_.size());
}

// The bucket's range of the gradients, alignment gaps included: one
// contiguous buffer for NCCL.
std::span<float> DeviceGradientSync::slice(std::size_t b) const {
  return gradients_.subspan(first_element_[b], span_elements_[b]);
}

void DeviceGradientSync::begin_step() { order_.begin_step(); }

void DeviceGradientSync::ready(std::size_t index, cudaStream_t compute) {
  order_.ready(index, [&](std::size_t b) { launch(b, compute); });
}

void DeviceGradientSync::launch(std::size_t b, cudaStream_t compute) {
  const std::span<float> data = slice(b);
  std::span<half_bits> wire;
  if (fp16_wire_) {
    wire = wire_.span().subspan(first_element_[b], data.size());
    to_half(std::span<const float>(data), wire, compute);
  }
  ready_[b]->record(compute);
  // Waiting here rather than only inside the all-reducer lets the start
  // event mark when the bucket's data was ready, not when it was enqueued.
  LB_CUDA_CHECK(cudaStreamWaitEvent(reducer_.stream(), ready_[b]->get(), 0));
  start_[b]->record(reducer_.stream());
  if (fp16_wire_) {
    reducer_.mean(wire, *ready_[b], *done_[b]);
  } else {
    reducer_.mean(data, *ready_[b], *done_[b]);
  }
}

void DeviceGradientSync::ready_all(cudaStream_t compute) {
  for (std::size_t t = 0; t < order_.tensors(); ++t) ready(t, compute);
}

void DeviceGradientSync::finish(cudaStream_t compute) {
  order_.require_all_launched();
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    LB_CUDA_CHECK(cudaStreamWaitEvent(compute, done_[b]->get(), 0));
    if (fp16_wire_) {
      const std::span<const half_bits> wire =
          wire_.span().subspan(first_element_[b], span_elements_[b]);
      from_half(wire, slice(b), compute);
    }
  }
}

std::vector<BucketTiming> DeviceGradientSync::timings(const Event& step_start) const {
  std::vector<BucketTiming> out;
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    out.push_back({b, buckets_[b].elements * sizeof(float), algorithm_,
                   start_[b]->elapsed_ms_since(step_start) / 1e3,
                   done_[b]->elapsed_ms_since(step_start) / 1e3,
                   /*cpu_s=*/0.0});  // NCCL's kernels do the work, not a host thread
  }
  return out;
}

}  // namespace lb::cuda
