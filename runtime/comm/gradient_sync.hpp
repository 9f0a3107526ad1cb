#pragma once
// Tensor fusion and overlap (Horovod-style). Gradients are registered in the
// order backward produces them and packed into buckets of at most
// fusion_bytes (0 = one tensor per bucket). Every rank builds the same
// buckets from the same model, so all ranks issue the same collectives in the
// same order. With overlap, a bucket's all-reduce starts on a communication
// thread as soon as its last gradient is ready, while backward goes on.
// Gradients that live in a GradientArena are all-reduced where they are: a
// bucket is the arena's slice from its first to its last tensor, scaled by
// 1/N in place. Gradients in separate storage are packed, bucket by bucket,
// into one buffer (scaled by 1/N on the way in) and copied back after; a
// bucket of one tensor is reduced in that tensor's memory. Either way the
// values are the ones Allreducer::mean gives, without its separate pass.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "runtime/comm/allreduce.hpp"
#include "runtime/comm/bucket_launch_order.hpp"
#include "runtime/comm/bucket_plan.hpp"  // Bucket, plan_buckets
#include "runtime/comm/gradient_arena.hpp"

namespace lb {

// What one bucket's all-reduce did, for traces and profile.json.
struct BucketTiming {
  std::size_t bucket = 0;
  std::size_t bytes = 0;
  Algorithm algorithm = Algorithm::ring;
  double start_s = 0, end_s = 0;  // seconds since the step began
  // CPU time of the thread that ran the all-reduce, over [start_s, end_s]:
  // on a CPU node communication is work on the node's cores (copies,
  // reductions, polling), which compute shares (simulator/calibration.hpp).
  double cpu_s = 0;
};

// comm.fusion_bytes as this job runs it (core/fusion_rule.hpp's
// resolve_fusion_bytes): for "auto", with all ranks on one node the
// shared-memory rule (this machine's last-level cache over the ranks), else
// the ring a large bucket runs on (all ranks, or the groups' leaders) over
// the network, or comm.auto_calibration's measured cost.
std::int64_t resolve_fusion_bytes(std::optional<std::int64_t> configured,
                                  std::int64_t gradient_bytes, const Allreducer& reducer);

class GradientSync {
 public:
  // `grads` in backward order; averaged in place across ranks by finish().
  GradientSync(Allreducer& reducer, std::vector<std::span<float>> grads, std::int64_t fusion_bytes,
               bool overlap);
  // The arena's gradients, each bucket reduced in place as the arena's slice.
  GradientSync(Allreducer& reducer, GradientArena& arena, std::int64_t fusion_bytes, bool overlap);
  ~GradientSync();
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

  // measure_local_norm: also sum the squares of this rank's own gradients as
  // they are packed, before any averaging (the gradient noise scale's small
  // batch; see local_squared_norm).
  void begin_step(bool measure_local_norm = false);
  // Gradient `index` (backward order) is final for this step.
  void ready(std::size_t index);
  // Sum of squares of this rank's gradients of the step begun with
  // measure_local_norm (valid once finish() returned).
  double local_squared_norm() const { return local_squared_norm_; }
  // Waits for every bucket and leaves the averaged gradients in place.
  // Rethrows a communication error from the communication thread.
  void finish();

  const std::vector<Bucket>& buckets() const { return buckets_; }
  const std::vector<BucketTiming>& timings() const { return timings_; }

 private:
  GradientSync(Allreducer& reducer, std::vector<std::span<float>> grads, GradientArena* arena,
               std::int64_t fusion_bytes, bool overlap);
  void launch(std::size_t bucket);
  void reduce_bucket(std::size_t bucket);
  void comm_loop();

  Allreducer& reducer_;
  std::vector<std::span<float>> grads_;
  std::vector<Bucket> buckets_;
  BucketLaunchOrder order_;  // buckets launch strictly in order
  bool in_arena_;            // buckets are arena slices: nothing to pack
  std::vector<std::vector<float>>
      fused_;  // not in an arena, per bucket of several tensors: its packed storage
  std::vector<std::span<float>>
      buffer_;           // per bucket: what is all-reduced (arena slice, fused_ or the tensor)
  float inverse_ranks_;  // 1/N: summing pre-scaled values gives the mean
  std::vector<BucketTiming> timings_;
  bool overlap_;
  bool measure_local_norm_ = false;
  double local_squared_norm_ = 0;
  double step_start_ = 0;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::size_t> queue_;
  std::size_t done_ = 0;
  std::exception_ptr error_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace lb
