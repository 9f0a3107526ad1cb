#pragma once
// WeightedLayer::Built, which its public header only declares: what Conv2d
// and Linear build for WeightedLayer's plans.
#include <oneapi/dnnl/dnnl.hpp>

#include "runtime/nn/weighted_layer.hpp"

namespace lb {

struct WeightedLayer::Built {
  dnnl::primitive primitive;
  dnnl::memory::desc a, b, c;
};

}  // namespace lb
