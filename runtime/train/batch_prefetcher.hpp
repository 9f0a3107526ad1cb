#pragma once
// Prepares training batches ahead of the trainer on worker threads. Batch k
// goes into ring slot k % depth; workers claim indices in order and the
// trainer consumes them in order, so the sequence equals a serial loop's.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/data/batch_loader.hpp"

namespace lb {

class BatchPrefetcher {
 public:
  // Produces global steps [first_step, end_step); step s is batch
  // s % steps_per_epoch of epoch s / steps_per_epoch.
  BatchPrefetcher(const BatchLoader& loader, std::int64_t first_step, std::int64_t end_step,
                  int depth, int workers);
  ~BatchPrefetcher();
  BatchPrefetcher(const BatchPrefetcher&) = delete;
  BatchPrefetcher& operator=(const BatchPrefetcher&) = delete;

  // The batch for `step` (the next one in order); valid until the next call.
  // `waited_s` receives the time spent waiting for it.
  const Batch& next(std::int64_t step, double& waited_s);

 private:
  struct Slot {
    Batch batch;
    std::int64_t step = -1;  // the step whose batch the slot holds, -1 = free
  };
  void work();

  const BatchLoader& loader_;
  const std::int64_t end_step_;
  const std::int64_t steps_per_epoch_;
  std::vector<Slot> slots_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::int64_t next_claim_;
  std::int64_t consumed_;  // steps before this one have been handed out and released
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace lb
