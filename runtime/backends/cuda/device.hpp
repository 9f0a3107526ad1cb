#pragma once
// The GPU this process computes on. One rank drives one device.
#include <cstddef>
#include <string>

namespace lb::cuda {

// Number of usable CUDA devices; 0 when there is no driver or no GPU (the
// reason goes to `why` if given). Never throws: tests and the trainer ask it
// to decide between running and skipping.
int device_count(std::string* why = nullptr);

class Device {
 public:
  // Makes device `ordinal` current for the calling thread.
  explicit Device(int ordinal);

  int ordinal() const { return ordinal_; }
  const std::string& name() const { return name_; }  // e.g. "NVIDIA H100 80GB HBM3"
  std::size_t total_memory_bytes() const { return total_memory_bytes_; }
  int compute_capability() const { return compute_capability_; }  // 80 for sm_80
  // Makes this device current for the calling thread (threads do not inherit it).
  void make_current() const;
  void synchronize() const;  // waits for all work on the device

 private:
  int ordinal_;
  std::string name_;
  std::size_t total_memory_bytes_ = 0;
  int compute_capability_ = 0;
};

}  // namespace lb::cuda
