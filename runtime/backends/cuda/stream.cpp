#include "runtime/backends/cuda/stream.hpp"

#include "runtime/backends/cuda/cuda_error.hpp"
#include "runtime/backends/cuda/event.hpp"

namespace lb::cuda {

Stream::Stream() { LB_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }

// Destructors must not throw: a failure here means the device is already
// lost, and the error that lost it has been reported.
Stream::~Stream() { cudaStreamDestroy(stream_); }

void Stream::wait(const Event& event) const {
  LB_CUDA_CHECK(cudaStreamWaitEvent(stream_, event.get(), 0));
}

void Stream::synchronize() const { LB_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

}  // namespace lb::cuda
