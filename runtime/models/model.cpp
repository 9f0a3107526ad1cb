#include "runtime/models/model.hpp"

namespace lb {

Shape Model::input_shape(std::int64_t batch) const {
  Shape s{batch};
  s.insert(s.end(), input_chw.begin(), input_chw.end());
  return s;
}

std::vector<LayerInfo> Model::layer_table(std::int64_t batch) const {
  std::vector<LayerInfo> rows;
  net->describe(input_shape(batch), rows);
  return rows;
}

}  // namespace lb
