#pragma once
// A model of the zoo: one network definition that the runtime trains and the
// simulator reads (per-layer parameter count, FLOPs and output shape).
#include <memory>
#include <string>
#include <vector>

#include "runtime/nn/layer.hpp"
#include "runtime/nn/sequential.hpp"

namespace lb {

struct Model {
  std::string name;
  Shape input_chw;  // (C, H, W) of one image
  int classes = 0;
  std::unique_ptr<Sequential> net;

  // Cost table at a batch size, one row per leaf layer in forward order.
  std::vector<LayerInfo> layer_table(std::int64_t batch) const;
  std::int64_t param_count() const { return net->param_count(); }
  Shape input_shape(std::int64_t batch) const;  // (batch, C, H, W)
};

// Builds a zoo model without allocating its parameters (call net->init()).
// Throws std::invalid_argument for an unknown name or an input it cannot take.
std::unique_ptr<Model> make_model(const std::string& name, const Shape& input_chw, int classes,
                                  double dropout = 0.0);

// The zoo's model names, in the order the docs list them.
const std::vector<std::string>& model_names();

}  // namespace lb
