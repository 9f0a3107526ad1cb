#include "runtime/backends/cuda/train/step_timer.hpp"

namespace lb::cuda {
namespace {

StepTimer::Clock::duration from_ms(double ms) {
  return std::chrono::duration_cast<StepTimer::Clock::duration>(
      std::chrono::duration<double, std::milli>(ms));
}

}  // namespace

void StepTimer::begin_step(cudaStream_t stream) {
  used_ = 0;
  mark(stream);
}

int StepTimer::mark(cudaStream_t stream) {
  if (used_ == static_cast<int>(events_.size())) {
    events_.push_back(std::make_unique<Event>(/*timing=*/true));
  }
  events_[static_cast<std::size_t>(used_)]->record(stream);
  return used_++;
}

void StepTimer::finish_step(int end, const Wait& wait) {
  const Event& last = *events_[static_cast<std::size_t>(end)];
  wait(last);
  const Clock::time_point now = Clock::now();
  start_ = now - from_ms(last.elapsed_ms_since(start_event()));
}

StepTimer::Clock::time_point StepTimer::at(int mark) const {
  return start_ + from_ms(events_[static_cast<std::size_t>(mark)]->elapsed_ms_since(start_event()));
}

double StepTimer::seconds(int from, int to) const {
  return events_[static_cast<std::size_t>(to)]->elapsed_ms_since(
             *events_[static_cast<std::size_t>(from)]) /
         1e3;
}

}  // namespace lb::cuda
