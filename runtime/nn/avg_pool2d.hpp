#pragma once
// Average pooling (oneDNN pooling_avg_exclude_padding): a window that overlaps
// the padding averages only the input elements it covers, i.e. PyTorch's
// AvgPool2d(count_include_pad=False). Chosen because zero padding is not data:
// including it would darken the border and make a constant input non-constant
// after pooling. Without padding (ResNet-D's 2×2/2 shortcut pooling) both
// conventions agree, so PyTorch models using the default are still matched.
#include <string>

#include "runtime/nn/pool2d.hpp"

namespace lb {

class AvgPool2d : public Pool2d {
 public:
  AvgPool2d(std::string name, int kernel, int stride, int padding = 0);
  std::string kind() const override { return "avg_pool"; }
};

}  // namespace lb
