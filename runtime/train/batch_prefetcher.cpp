#include "runtime/train/batch_prefetcher.hpp"

#include <chrono>
#include <limits>

namespace lb {

BatchPrefetcher::BatchPrefetcher(const BatchLoader& loader, std::int64_t first_step,
                                 std::int64_t end_step, int depth, int workers)
    : loader_(loader),
      end_step_(end_step),
      steps_per_epoch_(loader.batches_per_epoch()),
      depth_(std::max(depth, 1)),
      slots_(std::make_unique<Slot[]>(static_cast<std::size_t>(depth_))),
      next_claim_(first_step),
      consumed_(first_step) {
  for (int i = 0; i < std::max(workers, 1); ++i) workers_.emplace_back([this] { work(); });
}

BatchPrefetcher::~BatchPrefetcher() {
  stopping_.store(true);
  consumed_.store(std::numeric_limits<std::int64_t>::max() / 2);  // wakes workers waiting for a slot
  consumed_.notify_all();
  for (auto& t : workers_) t.join();
}

// A slot is free once the trainer has moved past the batch it held.
bool BatchPrefetcher::wait_for_free_slot(std::int64_t step) {
  std::int64_t consumed = consumed_.load(std::memory_order_acquire);
  while (step >= consumed + depth_) {
    if (stopping_.load()) return false;
    consumed_.wait(consumed, std::memory_order_acquire);
    consumed = consumed_.load(std::memory_order_acquire);
  }
  return !stopping_.load();
}

void BatchPrefetcher::work() {
  while (true) {
    const std::int64_t step = next_claim_.fetch_add(1);
    if (step >= end_step_ || !wait_for_free_slot(step)) return;
    Slot& slot = slots_[static_cast<std::size_t>(step % depth_)];
    const auto start = std::chrono::steady_clock::now();
    slot.error = nullptr;
    try {  // no exception may escape a thread: next() rethrows it
      loader_.fill(step / steps_per_epoch_, step % steps_per_epoch_, slot.batch);
    } catch (...) {
      slot.error = std::current_exception();
    }
    slot.prepare_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    slot.step.store(step, std::memory_order_release);
    slot.step.notify_all();
  }
}

const Batch& BatchPrefetcher::next(std::int64_t step, double& waited_s, double* prepare_s) {
  const auto start = std::chrono::steady_clock::now();
  consumed_.store(step, std::memory_order_release);  // releases the previous batch's slot
  consumed_.notify_all();
  Slot& slot = slots_[static_cast<std::size_t>(step % depth_)];
  for (std::int64_t held = slot.step.load(std::memory_order_acquire); held != step;
       held = slot.step.load(std::memory_order_acquire)) {
    slot.step.wait(held, std::memory_order_acquire);
  }
  waited_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (prepare_s != nullptr) *prepare_s = slot.prepare_s;
  if (slot.error) std::rethrow_exception(slot.error);
  return slot.batch;
}

const Batch* BatchPrefetcher::peek(std::int64_t step) const {
  const Slot& slot = slots_[static_cast<std::size_t>(step % depth_)];
  const bool ready = slot.step.load(std::memory_order_acquire) == step && !slot.error;
  return ready ? &slot.batch : nullptr;
}

}  // namespace lb
