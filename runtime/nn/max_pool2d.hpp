#pragma once
// Max pooling (oneDNN pooling_max). Padding never wins a window: oneDNN, like
// PyTorch, treats padded positions as -inf. In training the argmax of every
// window is kept in oneDNN's workspace, so backward needs no input.
#include <string>

#include "runtime/nn/pool2d.hpp"

namespace lb {

class MaxPool2d : public Pool2d {
 public:
  MaxPool2d(std::string name, int kernel, int stride, int padding = 0);
  std::string kind() const override { return "max_pool"; }
};

}  // namespace lb
