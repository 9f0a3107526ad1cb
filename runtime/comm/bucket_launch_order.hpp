#pragma once
// When each gradient bucket may start its all-reduce: once all its tensors
// are ready, and only after every bucket before it has started, so that every
// rank issues the same collectives in the same order even if a model's
// backward finishes tensors in a slightly different order. GradientSync (CPU)
// and DeviceGradientSync (CUDA) both keep this bookkeeping here; what a
// launch does is theirs. Header-only and free of MPI, as bucket_plan.hpp.
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/comm/bucket_plan.hpp"

namespace lb {

class BucketLaunchOrder {
 public:
  // `buckets` as plan_buckets made them over `tensors` tensors.
  BucketLaunchOrder(const std::vector<Bucket>& buckets, std::size_t tensors)
      : bucket_of_(tensors), sizes_(buckets.size()) {
    for (std::size_t b = 0; b < buckets.size(); ++b) {
      sizes_[b] = buckets[b].tensors.size();
      for (std::size_t t : buckets[b].tensors) bucket_of_.at(t) = b;
    }
    begin_step();
  }

  // Every bucket waits for all its tensors again.
  void begin_step() {
    pending_ = sizes_;
    complete_.assign(sizes_.size(), false);
    next_launch_ = 0;
  }

  // Tensor `index` is final for this step: calls launch(b) for each bucket
  // that may start now, in bucket order (none, or several at once when this
  // tensor completed the bucket an earlier complete one was waiting for).
  template <class Launch>
  void ready(std::size_t index, Launch&& launch) {
    const std::size_t b = bucket_of_.at(index);
    if (--pending_[b] != 0) return;
    complete_[b] = true;
    while (next_launch_ < sizes_.size() && complete_[next_launch_]) launch(next_launch_++);
  }

  // Throws std::logic_error naming the first bucket that never became ready
  // this step (a tensor never reported: the step's collectives cannot match).
  void require_all_launched() const {
    for (std::size_t b = 0; b < complete_.size(); ++b) {
      if (!complete_[b])
        throw std::logic_error("gradient bucket " + std::to_string(b) + " never became ready");
    }
  }

  std::size_t tensors() const { return bucket_of_.size(); }

 private:
  std::vector<std::size_t> bucket_of_;  // tensor -> bucket
  std::vector<std::size_t> sizes_;      // per bucket: its tensor count
  std::vector<std::size_t> pending_;    // per bucket: tensors not yet ready this step
  std::vector<bool> complete_;
  std::size_t next_launch_ = 0;
};

}  // namespace lb
