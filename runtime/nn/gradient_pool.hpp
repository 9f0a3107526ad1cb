#pragma once
// Storage for the input gradients of a thread's layers. A layer's input
// gradient is dead as soon as the layer before it has consumed it, so instead
// of every layer keeping a buffer the size of its input for the whole run
// (most of the training memory), layers borrow one here in backward() and
// their container gives it back once consumed. After the first step the pool
// holds as many buffers as are ever live at once and allocates no more.
#include <cstdint>
#include <vector>

#include "runtime/tensor/tensor.hpp"

namespace lb {

class GradientPool {
 public:
  static GradientPool& local();  // this thread's pool

  // A tensor that can hold `numel` values without reallocating (its shape
  // and contents are unspecified): the smallest such free one, else new.
  Tensor take(std::int64_t numel);
  void give(Tensor&& t);

 private:
  std::vector<Tensor> free_;
};

}  // namespace lb
