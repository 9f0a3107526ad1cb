#include "runtime/nn/avg_pool2d.hpp"

namespace lb {

AvgPool2d::AvgPool2d(std::string name, int kernel, int stride, int padding)
    : Pool2d(std::move(name), kernel, stride, padding, PoolKind::average) {}

}  // namespace lb
