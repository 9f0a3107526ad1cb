#include "runtime/train/batch_prefetcher.hpp"

#include <chrono>
#include <limits>
#include <stdexcept>
#include <string>

namespace lb {

BatchPrefetcher::BatchPrefetcher(const BatchLoader& loader, std::int64_t first_step,
                                 std::int64_t end_step, int depth, int workers)
    : BatchPrefetcher([&loader](std::int64_t epoch, std::int64_t index,
                                Batch& out) { loader.fill(epoch, index, out); },
                      loader.batches_per_epoch(), first_step, end_step, depth, workers) {}

BatchPrefetcher::BatchPrefetcher(FillStep fill, std::int64_t steps_per_epoch,
                                 std::int64_t first_step, std::int64_t end_step, int depth,
                                 int workers)
    : fill_(std::move(fill)),
      end_step_(end_step),
      steps_per_epoch_(steps_per_epoch),
      depth_(std::max(depth, 1)),
      slots_(std::make_unique<Slot[]>(static_cast<std::size_t>(depth_))),
      next_claim_(first_step),
      consumed_(first_step) {
  if (first_step < 0 || steps_per_epoch < 1) {
    throw std::invalid_argument("BatchPrefetcher: first step " + std::to_string(first_step) +
                                ", steps per epoch " + std::to_string(steps_per_epoch));
  }
  start(std::max(workers, 1));
}

// A thread that cannot be created must not leave the ones already running
// joinable while the constructor throws (that would terminate the program).
void BatchPrefetcher::start(int workers) {
  try {
    for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { work(); });
  } catch (const std::exception& e) {  // std::system_error, or bad_alloc growing workers_
    stop();
    throw std::runtime_error("data.workers: cannot start " + std::to_string(workers) +
                             " input threads (" + e.what() + ")");
  }
}

void BatchPrefetcher::stop() {
  stopping_.store(true);
  consumed_.store(std::numeric_limits<std::int64_t>::max() /
                  2);  // wakes workers waiting for a slot
  consumed_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

BatchPrefetcher::~BatchPrefetcher() { stop(); }

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
    prepare(step);
  }
}

// Fills the step's slot, or marks it failed. The other workers go on: the
// trainer must still receive every step before this one, and it stops at
// this one.
void BatchPrefetcher::prepare(std::int64_t step) {
  Slot& slot = slots_[static_cast<std::size_t>(step % depth_)];
  std::int64_t published = step;
  try {
    const auto start = std::chrono::steady_clock::now();
    fill_(step / steps_per_epoch_, step % steps_per_epoch_, slot.batch);
    slot.prepare_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  } catch (...) {
    {
      const std::lock_guard<std::mutex> lock(failure_mutex_);
      if (!failure_) failure_ = std::current_exception();
    }
    published = kFailed;
  }
  slot.step.store(published, std::memory_order_release);
  slot.step.notify_all();
}

const Batch& BatchPrefetcher::next(std::int64_t step, double& waited_s, double* prepare_s) {
  const auto start = std::chrono::steady_clock::now();
  consumed_.store(step, std::memory_order_release);  // releases the previous batch's slot
  consumed_.notify_all();
  Slot& slot = slots_[static_cast<std::size_t>(step % depth_)];
  for (std::int64_t held = slot.step.load(std::memory_order_acquire); held != step;
       held = slot.step.load(std::memory_order_acquire)) {
    if (held == kFailed) {
      const std::lock_guard<std::mutex> lock(failure_mutex_);
      std::rethrow_exception(failure_);
    }
    slot.step.wait(held, std::memory_order_acquire);
  }
  waited_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (prepare_s != nullptr) *prepare_s = slot.prepare_s;
  return slot.batch;
}

const Batch* BatchPrefetcher::peek(std::int64_t step) const {
  const Slot& slot = slots_[static_cast<std::size_t>(step % depth_)];
  return slot.step.load(std::memory_order_acquire) == step ? &slot.batch : nullptr;
}

}  // namespace lb
