#include "runtime/comm/gradient_sync.hpp"

#include <chrono>
#include <cstring>
#include <ctime>

#include "runtime/core/host.hpp"
#include "runtime/core/reductions.hpp"

namespace lb {
namespace {

std::vector<Bucket> plan_for(const std::vector<std::span<float>>& grads,
                             std::int64_t fusion_bytes) {
  std::vector<std::size_t> sizes;
  for (const auto& g : grads) sizes.push_back(g.size());
  return plan_buckets(sizes, fusion_bytes);
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// CPU seconds this thread has run (not waited or slept).
double thread_cpu_s() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

}  // namespace

std::int64_t resolve_fusion_bytes(std::optional<std::int64_t> configured,
                                  std::int64_t gradient_bytes, const Allreducer& reducer) {
  // The ring a large bucket's all-reduce runs: all ranks, or the groups'
  // leaders (hierarchical) or one column (torus2d).
  const Algorithm large = reducer.resolve(reducer.config().algorithm, std::size_t(gradient_bytes));
  const int groups = reducer.ranks() / reducer.group_size();
  const bool grouped = large == Algorithm::hierarchical || large == Algorithm::torus2d;
  const int ring_ranks =
      grouped && groups > 1 ? groups : reducer.ranks();  // one group: its own ring
  FusionJob job;
  job.gradient_bytes = gradient_bytes;
  job.measured = reducer.config().measured_cost;
  job.ring = {ring_ranks, kNetworkLink.latency_s, kNetworkLink.bandwidth_bytes_per_s};
  if (reducer.on_one_node()) {
    job.shared_cache_bytes = last_level_cache_bytes();
    job.ranks_on_node = reducer.ranks();
  }
  return lb::resolve_fusion_bytes(configured, job);
}

GradientSync::GradientSync(Allreducer& reducer, std::vector<std::span<float>> grads,
                           std::int64_t fusion_bytes, bool overlap)
    : GradientSync(reducer, std::move(grads), nullptr, fusion_bytes, overlap) {}

GradientSync::GradientSync(Allreducer& reducer, GradientArena& arena, std::int64_t fusion_bytes,
                           bool overlap)
    : GradientSync(reducer, arena.grads(), &arena, fusion_bytes, overlap) {}

GradientSync::GradientSync(Allreducer& reducer, std::vector<std::span<float>> grads,
                           GradientArena* arena, std::int64_t fusion_bytes, bool overlap)
    : reducer_(reducer),
      grads_(std::move(grads)),
      buckets_(plan_for(grads_, fusion_bytes)),
      order_(buckets_, grads_.size()),
      in_arena_(arena != nullptr),
      inverse_ranks_(reducer.mean_factor()),
      overlap_(overlap) {
  fused_.reserve(buckets_.size());  // buffer_ points into these
  for (const Bucket& bucket : buckets_) {
    const auto& tensors = bucket.tensors;
    if (in_arena_) {
      buffer_.push_back(arena->slice(tensors.front(), tensors.back()));
    } else {
      fused_.emplace_back(tensors.size() > 1 ? bucket.elements : 0);
      buffer_.push_back(tensors.size() > 1 ? std::span<float>(fused_.back())
                                           : grads_[tensors.front()]);
    }
  }
  timings_.resize(buckets_.size());
  if (overlap_) thread_ = std::thread([this] { comm_loop(); });
}

GradientSync::~GradientSync() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void GradientSync::begin_step(bool measure_local_norm) {
  measure_local_norm_ = measure_local_norm;
  local_squared_norm_ = 0;
  order_.begin_step();
  std::lock_guard lock(mutex_);
  done_ = 0;
  step_start_ = now_s();
}

void GradientSync::ready(std::size_t index) {
  order_.ready(index, [this](std::size_t b) { launch(b); });
}

void GradientSync::launch(std::size_t b) {
  // Scale by 1/N where the values already are (an arena slice, or a lone
  // tensor) or while packing: either way one pass over the gradients.
  if (in_arena_ || buckets_[b].tensors.size() == 1) {
    const std::span<float> values = buffer_[b];  // an arena slice's padding is zero
    if (measure_local_norm_) local_squared_norm_ += squared_norm(std::span<const float>(values));
    for (float& v : values) v *= inverse_ranks_;
  } else {
    float* out = buffer_[b].data();
    for (std::size_t t : buckets_[b].tensors) {
      const std::span<const float> in = grads_[t];
      if (measure_local_norm_) local_squared_norm_ += squared_norm(in);
      for (std::size_t i = 0; i < in.size(); ++i) out[i] = in[i] * inverse_ranks_;
      out += in.size();
    }
  }
  if (!overlap_) return reduce_bucket(b);
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(b);
  }
  changed_.notify_all();
}

void GradientSync::reduce_bucket(std::size_t b) {
  BucketTiming& t = timings_[b];
  t.bucket = b;
  t.bytes = buffer_[b].size_bytes();
  t.algorithm = reducer_.resolve(reducer_.config().algorithm, t.bytes);
  t.start_s = now_s() - step_start_;
  const double cpu_start = thread_cpu_s();
  try {
    reducer_.sum(buffer_[b]);     // pre-scaled by launch()
  } catch (const CommError& e) {  // name the bucket, as Horovod's stall inspector does
    throw CommError(std::string(e.what()) + " (gradient bucket " + std::to_string(b) + " of " +
                    std::to_string(buckets_.size()) + ", " + std::to_string(t.bytes) + " bytes)");
  }
  t.end_s = now_s() - step_start_;
  t.cpu_s = thread_cpu_s() - cpu_start;
}

void GradientSync::comm_loop() {
  set_thread_wait_policy(WaitPolicy::sleep);  // backward keeps the cores
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    const std::size_t b = queue_.front();
    queue_.pop_front();
    lock.unlock();
    std::exception_ptr error;
    try {
      if (!error_) reduce_bucket(b);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    if (error && !error_) error_ = error;
    ++done_;
    changed_.notify_all();
  }
}

void GradientSync::finish() {
  order_.require_all_launched();
  if (overlap_) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return done_ == buckets_.size(); });
    if (error_) std::rethrow_exception(error_);
  }
  if (in_arena_) return;  // every bucket was reduced in place
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    if (buckets_[b].tensors.size() == 1) continue;  // reduced in place
    const float* in = fused_[b].data();
    for (std::size_t t : buckets_[b].tensors) {
      std::memcpy(grads_[t].data(), in, grads_[t].size_bytes());
      in += grads_[t].size();
    }
  }
}

}  // namespace lb
