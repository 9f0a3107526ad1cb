#pragma once
// An owned CUDA stream. Non-blocking: it does not synchronise with the legacy
// default stream, so the compute and communication streams overlap.
#include <cuda_runtime_api.h>

namespace lb::cuda {

class Event;

class Stream {
 public:
  Stream();
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  cudaStream_t get() const { return stream_; }
  // Work enqueued on this stream after the call waits for `event` on the
  // device; the host does not block.
  void wait(const Event& event) const;
  void synchronize() const;  // blocks the host until the stream is idle

 private:
  cudaStream_t stream_ = nullptr;
};

}  // namespace lb::cuda
