#pragma once
// Every gradient of a model in one buffer, in the order backward produces
// them, so that a fusion bucket (a run of consecutive gradients) is a slice
// of the buffer: it is all-reduced where backward wrote it, with no packing
// into a bucket buffer and no unpacking after (PyTorch DDP's
// gradient_as_bucket_view). The gradient tensors become views into the
// arena; each starts on a 64-byte boundary, as an owned tensor would, and the
// few padding values between them stay zero (all-reducing zeros keeps them
// zero), so a bucket's slice may include them.
#include <cstddef>
#include <span>
#include <vector>

#include "runtime/tensor/tensor.hpp"

namespace lb {

class GradientArena {
 public:
  // `grads` in backward order. Their values are copied in and each tensor is
  // rebound as a view of the arena, which must outlive them all.
  explicit GradientArena(const std::vector<Tensor*>& grads);
  GradientArena(const GradientArena&) = delete;
  GradientArena& operator=(const GradientArena&) = delete;

  // The gradients, in backward order.
  const std::vector<std::span<float>>& grads() const { return grads_; }
  // The arena from the start of gradient `first` to the end of gradient
  // `last` (first <= last), padding between them included.
  std::span<float> slice(std::size_t first, std::size_t last);

 private:
  std::vector<float, AlignedAllocator<float>> storage_;
  std::vector<std::size_t> offsets_;  // where each gradient starts
  std::vector<std::span<float>> grads_;
};

}  // namespace lb
