#include "simulator/model_info.hpp"

#include <stdexcept>

#include "runtime/core/errors.hpp"
#include "runtime/core/rng.hpp"
#include "runtime/models/model.hpp"

namespace lb::sim {

ModelInfo model_info(const Spec& spec) {
  Shape chw{1, 28, 28};  // fashion_mnist
  int classes = 10;
  std::int64_t images = 60000;
  if (spec.data.dataset == "synthetic") {
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
  ModelInfo info{spec.model.name, model->layer_table(1), {}, model->param_count(), images};
  // Parameter shapes exist only after init(); the values are never used.
  Rng rng(1);
  model->net->init(rng);
  const auto params = model->net->params();
  for (auto it = params.rbegin(); it != params.rend(); ++it) {
    const std::string& name = (*it)->name;  // "<leaf>.weight"
    info.gradients.push_back({name.substr(0, name.rfind('.')), (*it)->grad.span().size()});
  }
  return info;
}

}  // namespace lb::sim
