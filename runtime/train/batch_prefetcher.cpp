#include "runtime/train/batch_prefetcher.hpp"

#include <chrono>

namespace lb {

BatchPrefetcher::BatchPrefetcher(const BatchLoader& loader, std::int64_t first_step,
                                 std::int64_t end_step, int depth, int workers)
    : loader_(loader),
      end_step_(end_step),
      steps_per_epoch_(loader.batches_per_epoch()),
      slots_(static_cast<std::size_t>(std::max(depth, 1))),
      next_claim_(first_step),
      consumed_(first_step) {
  for (int i = 0; i < std::max(workers, 1); ++i) workers_.emplace_back([this] { work(); });
}

BatchPrefetcher::~BatchPrefetcher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (auto& t : workers_) t.join();
}

void BatchPrefetcher::work() {
  const auto depth = static_cast<std::int64_t>(slots_.size());
  std::unique_lock lock(mutex_);
  while (!stopping_ && next_claim_ < end_step_) {
    const std::int64_t step = next_claim_++;
    // The slot is free once the trainer has moved past the batch it held.
    changed_.wait(lock, [&] { return stopping_ || step < consumed_ + depth; });
    if (stopping_) return;
    Slot& slot = slots_[static_cast<std::size_t>(step % depth)];
    lock.unlock();
    loader_.fill(step / steps_per_epoch_, step % steps_per_epoch_, slot.batch);
    lock.lock();
    slot.step = step;
    changed_.notify_all();
  }
}

const Batch& BatchPrefetcher::next(std::int64_t step, double& waited_s) {
  const auto depth = static_cast<std::int64_t>(slots_.size());
  const auto start = std::chrono::steady_clock::now();
  std::unique_lock lock(mutex_);
  consumed_ = step;  // releases the previous batch's slot to the workers
  changed_.notify_all();
  Slot& slot = slots_[static_cast<std::size_t>(step % depth)];
  changed_.wait(lock, [&] { return slot.step == step; });
  waited_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return slot.batch;
}

}  // namespace lb
