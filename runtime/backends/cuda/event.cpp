#include "runtime/backends/cuda/event.hpp"

#include "runtime/backends/cuda/cuda_error.hpp"

namespace lb::cuda {

Event::Event(bool timing) {
  LB_CUDA_CHECK(
      cudaEventCreateWithFlags(&event_, timing ? cudaEventDefault : cudaEventDisableTiming));
}

Event::~Event() { cudaEventDestroy(event_); }  // see ~Stream: must not throw

void Event::record(cudaStream_t stream) { LB_CUDA_CHECK(cudaEventRecord(event_, stream)); }

bool Event::done() const {
  const cudaError_t status = cudaEventQuery(event_);
  if (status == cudaErrorNotReady) return false;  // the one expected non-success
  LB_CUDA_CHECK(status);
  return true;
}

void Event::synchronize() const { LB_CUDA_CHECK(cudaEventSynchronize(event_)); }

float Event::elapsed_ms_since(const Event& start) const {
  float ms = 0;
  LB_CUDA_CHECK(cudaEventElapsedTime(&ms, start.get(), event_));
  return ms;
}

}  // namespace lb::cuda
