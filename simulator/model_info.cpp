#include "simulator/model_info.hpp"

#include <map>
#include <stdexcept>

#include "runtime/core/errors.hpp"
#include "runtime/models/model.hpp"

namespace lb::sim {

ModelInfo model_info(const Spec& spec) {
  Shape chw{1, 28, 28};  // fashion_mnist
  int classes = 10;
  std::int64_t images = 60000;
  if (spec.data.dataset == Dataset::synthetic) {
    const SyntheticSpec& s = spec.data.synthetic;
    chw = {s.channels, s.height, s.width};
    classes = s.classes;
    images = s.train_images;
  }
  if (spec.data.train_subset > 0) images = std::min(images, spec.data.train_subset);
  std::unique_ptr<Model> model;
  try {
    model = make_model(spec.model.name, chw, classes, spec.model.dropout);
  } catch (const std::invalid_argument& e) {
    throw SpecError("model.name", e.what());
  }
  ModelInfo info{spec.model.name, model->layer_table(1),   {}, model->param_count(),
                 images,          chw[0] * chw[1] * chw[2]};
  // Tensor sizes without init() (which would allocate and fill every weight):
  // a bias (conv, linear, BatchNorm beta) has one value per output channel,
  // the weight the rest of the leaf's parameters.
  std::map<std::string, const LayerInfo*> rows;
  for (const auto& row : info.table) rows[row.name] = &row;
  std::map<std::string, bool> has_bias;
  const auto params = model->net->params();
  for (const Param* p : params) {
    if (p->name.ends_with(".bias")) has_bias[p->name.substr(0, p->name.size() - 5)] = true;
  }
  for (auto it = params.rbegin(); it != params.rend(); ++it) {
    const std::string& name = (*it)->name;
    const std::string leaf = name.substr(0, name.rfind('.'));
    const auto row = rows.find(leaf);
    if (row == rows.end())
      throw std::logic_error("model_info: parameter " + name + " has no layer row");
    const auto channels = std::size_t(row->second->output_shape.at(1));
    const bool bias = name.ends_with(".bias");
    const std::size_t size =
        bias ? channels : std::size_t(row->second->params) - (has_bias[leaf] ? channels : 0);
    info.gradients.push_back({leaf, size});
  }
  return info;
}

}  // namespace lb::sim
