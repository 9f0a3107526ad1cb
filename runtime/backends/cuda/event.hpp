#pragma once
// An owned CUDA event: marks a point in a stream so that another stream (or
// the host) can wait for it, and times the work between two events.
#include <cuda_runtime_api.h>

namespace lb::cuda {

class Event {
 public:
  // Timing events cost a little more to record; synchronisation-only events
  // (the default) are what cross-stream dependencies need.
  explicit Event(bool timing = false);
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  cudaEvent_t get() const { return event_; }
  void record(cudaStream_t stream);
  bool done() const;         // the recorded work has finished (non-blocking)
  void synchronize() const;  // blocks the host until it has
  // Milliseconds of device time from `start` to this event; both must be
  // timing events, recorded and finished.
  float elapsed_ms_since(const Event& start) const;

 private:
  cudaEvent_t event_ = nullptr;
};

}  // namespace lb::cuda
