#pragma once
// CUDA timing events of one training step, put on the host's clock once
// the step has finished. The trainer's traces and profile.json are in host
// time (steady_clock); GPU work runs later than the host enqueues it, so
// host timestamps around launches would measure the launches. Instead the
// step's last event is waited for, and the moment the wait returns is taken
// as that event's host time: every other event is placed by its device time
// from the step's first event.
#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "runtime/backends/cuda/event.hpp"

namespace lb::cuda {

class StepTimer {
 public:
  using Clock = std::chrono::steady_clock;
  using Wait = std::function<void(const Event&)>;

  // Reuses the events of earlier steps; the step's start is mark 0.
  void begin_step(cudaStream_t stream);
  // A timing event recorded on `stream` now; returns its mark.
  int mark(cudaStream_t stream);
  // Waits for the step's last mark `end` with `wait` and anchors the marks
  // on the host clock.
  void finish_step(int end, const Wait& wait);

  const Event& start_event() const { return *events_.front(); }
  Clock::time_point at(int mark) const;  // after finish_step
  double seconds(int from, int to) const;

 private:
  std::vector<std::unique_ptr<Event>> events_;
  int used_ = 0;
  Clock::time_point start_;  // host time of mark 0
};

}  // namespace lb::cuda
