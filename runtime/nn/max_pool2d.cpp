#include "runtime/nn/max_pool2d.hpp"

namespace lb {

MaxPool2d::MaxPool2d(std::string name, int kernel, int stride, int padding)
    : Pool2d(std::move(name), kernel, stride, padding, PoolKind::max) {}

}  // namespace lb
