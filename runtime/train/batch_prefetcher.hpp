#pragma once
// Pipelined input: K worker threads prepare training batches ahead of the
// trainer in a bounded lock-free ring of depth data.prefetch. Step s's batch
// goes to slot s % depth; workers claim steps with an atomic counter and the
// trainer consumes them in order, so the sequence equals a serial loop's
// (which bit-identical resume relies on). Waiting uses C++20 atomic
// wait/notify, not locks.
//
// No exception escapes a worker: the first one a worker meets is kept and
// rethrown by next() in the trainer's thread when it reaches that step.
#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/data/batch_loader.hpp"

namespace lb {

class BatchPrefetcher {
 public:
  // Produces global steps [first_step, end_step); step s is batch
  // s % steps_per_epoch of epoch s / steps_per_epoch.
  // Throws std::invalid_argument for first_step < 0, and a std::runtime_error
  // naming data.workers when the threads cannot be started (none is left
  // running then).
  BatchPrefetcher(const BatchLoader& loader, std::int64_t first_step, std::int64_t end_step,
                  int depth, int workers);
  // Fills the batch of a step (epoch, index within the epoch); called from
  // the worker threads. For tests and for sources other than a BatchLoader.
  using FillStep = std::function<void(std::int64_t epoch, std::int64_t index, Batch& out)>;
  BatchPrefetcher(FillStep fill, std::int64_t steps_per_epoch, std::int64_t first_step,
                  std::int64_t end_step, int depth, int workers);
  ~BatchPrefetcher();
  BatchPrefetcher(const BatchPrefetcher&) = delete;
  BatchPrefetcher& operator=(const BatchPrefetcher&) = delete;

  // The batch for `step` (the next one in order); valid until the next call.
  // Rethrows the exception a worker met preparing it.
  // `waited_s` receives the time the trainer spent waiting for it, and
  // `prepare_s` the time a worker took to prepare it (read, augment, shard).
  const Batch& next(std::int64_t step, double& waited_s, double* prepare_s = nullptr);
  // The batch of `step` if a worker has already prepared it, else nullptr;
  // never waits. Meant for the step after the current one (a GPU engine
  // starts copying it early); valid until next() moves past `step`.
  const Batch* peek(std::int64_t step) const;

 private:
  struct Slot {
    Batch batch;
    double prepare_s = 0;                // written before `step` is released
    std::atomic<std::int64_t> step{-1};  // the step whose batch the slot holds
  };
  // A slot's step while it holds a failed step's exception instead of a batch.
  static constexpr std::int64_t kFailed = -2;

  void start(int workers);
  void stop();
  void work();
  void prepare(std::int64_t step);
  bool wait_for_free_slot(std::int64_t step);

  const FillStep fill_;
  const std::int64_t end_step_;
  const std::int64_t steps_per_epoch_;
  const std::int64_t depth_;
  std::unique_ptr<Slot[]> slots_;
  std::atomic<std::int64_t> next_claim_;
  std::atomic<std::int64_t> consumed_;  // steps before this one are released
  std::atomic<bool> stopping_{false};
  std::mutex failure_mutex_;
  std::exception_ptr failure_;  // the first exception a worker met
  std::vector<std::thread> workers_;
};

}  // namespace lb
