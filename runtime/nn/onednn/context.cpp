#include "runtime/nn/onednn/context.hpp"

#include <stdexcept>

namespace lb::cpu {

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream& stream() {
  static dnnl::stream s(engine());
  return s;
}

dnnl::memory::dims dims_of(const Shape& shape) {
  return dnnl::memory::dims(shape.begin(), shape.end());
}

dnnl::memory::format_tag plain_format(std::size_t rank) {
  using tag = dnnl::memory::format_tag;
  switch (rank) {
    case 1:
      return tag::a;
    case 2:
      return tag::ab;
    case 3:
      return tag::abc;
    case 4:
      return tag::abcd;
    default:
      throw std::invalid_argument("unsupported tensor rank " + std::to_string(rank));
  }
}

dnnl::memory::desc plain_desc(const Shape& shape) {
  return {dims_of(shape), dnnl::memory::data_type::f32, plain_format(shape.size())};
}

dnnl::memory::format_tag tag_of(Layout layout, std::size_t rank) {
  switch (layout) {
    case Layout::nChw8c:
      return dnnl::memory::format_tag::nChw8c;
    case Layout::nChw16c:
      return dnnl::memory::format_tag::nChw16c;
    default:
      return plain_format(rank);
  }
}

dnnl::memory::desc desc_of(const Shape& shape, Layout layout) {
  return {dims_of(shape), dnnl::memory::data_type::f32, tag_of(layout, shape.size())};
}

dnnl::memory::desc desc_of(const Tensor& t) { return desc_of(t.shape(), t.layout()); }

dnnl::memory wrap(const Tensor& t) {
  return dnnl::memory(desc_of(t), engine(), const_cast<float*>(t.data()));
}

}  // namespace lb::cpu
