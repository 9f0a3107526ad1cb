#pragma once
// What the simulator needs from the model zoo: the per-leaf cost table and
// the gradient tensors in the order backward produces them (the order the
// runtime's GradientSync buckets them in).
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/spec.hpp"
#include "runtime/nn/layer.hpp"

namespace lb::sim {

struct GradientTensor {
  std::string layer;  // the leaf that owns it ("layer1.0.conv1")
  std::size_t elements = 0;
};

struct ModelInfo {
  std::string name;
  std::vector<LayerInfo> table;           // forward order, at a batch of one image
  std::vector<GradientTensor> gradients;  // backward order
  std::int64_t params = 0;
  std::int64_t train_images = 0;    // one epoch of the spec's dataset
  std::int64_t input_elements = 0;  // one image: channels x height x width
};

// The spec's model at its dataset's image shape. Throws SpecError("model.name").
ModelInfo model_info(const Spec& spec);

}  // namespace lb::sim
