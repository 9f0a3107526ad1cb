#include "runtime/nn/linear.hpp"

#include <cmath>
#include <random>
#include <stdexcept>

#include "runtime/nn/onednn/operand.hpp"
#include "runtime/nn/onednn/weighted_primitive.hpp"

namespace lb {

using dnnl::memory;
using dnnl::prop_kind;

namespace {

// The typed forward descriptor, also the hint the backward ones need.
dnnl::inner_product_forward::primitive_desc forward_pd(const Linear& layer, const Shape& weights,
                                                       const Shape& input, bool training) {
  using Fwd = dnnl::inner_product_forward;
  const prop_kind prop = training ? prop_kind::forward_training : prop_kind::forward_inference;
  const auto src = cpu::any_desc(input), w = cpu::any_desc(weights);
  const auto dst = cpu::any_desc(layer.output_shape(input));
  const Fwd::desc desc = layer.has_bias()
                             ? Fwd::desc(prop, src, w, cpu::plain_desc({layer.out_features()}), dst)
                             : Fwd::desc(prop, src, w, dst);
  return Fwd::primitive_desc(desc, cpu::engine());
}

}  // namespace

Linear::Linear(std::string name, int in_features, int out_features, bool bias)
    : WeightedLayer(std::move(name), bias), in_(in_features), out_(out_features) {
  if (in_ <= 0 || out_ <= 0) {
    throw std::invalid_argument(this->name() + ": linear needs positive feature counts");
  }
}

Linear::~Linear() = default;

Shape Linear::output_shape(const Shape& input) const {
  if (input.size() != 2 || input[1] != in_) {
    throw std::invalid_argument(name() + ": linear expects input (N, " + std::to_string(in_) +
                                "), got " + to_string(input));
  }
  return {input[0], out_};
}

std::int64_t Linear::param_count() const {
  return std::int64_t(out_) * in_ + (has_bias() ? out_ : 0);
}

double Linear::forward_flops(const Shape& input) const {
  const double outputs = double(numel(output_shape(input)));
  return outputs * (2.0 * in_ + (has_bias() ? 1 : 0));  // multiply-adds plus the bias add
}

void Linear::init(Rng& rng) {
  allocate({out_, in_}, out_);
  // nn.Linear's reset_parameters(): kaiming_uniform_(a=√5) reduces to this bound.
  const float bound = 1.0f / std::sqrt(float(in_));
  std::uniform_real_distribution<float> uniform(-bound, bound);
  for (float& v : weight().value.span()) v = uniform(rng);
  if (has_bias()) {
    for (float& v : bias().value.span()) v = uniform(rng);
  }
}

WeightedLayer::Built Linear::build_forward(const Shape& input, bool training) const {
  const auto pd = forward_pd(*this, weight().value.shape(), input, training);
  return {dnnl::inner_product_forward(pd), pd.src_desc(), pd.weights_desc(), pd.dst_desc()};
}

WeightedLayer::Built Linear::build_backward_data(const Shape& input) const {
  using Bwd = dnnl::inner_product_backward_data;
  const Bwd::desc desc(cpu::any_desc(input), cpu::any_desc(weight().value.shape()),
                       cpu::any_desc(output_shape(input)));
  const auto hint = forward_pd(*this, weight().value.shape(), input, true);
  const Bwd::primitive_desc pd(desc, cpu::engine(), hint);
  return {Bwd(pd), pd.diff_dst_desc(), pd.weights_desc(), pd.diff_src_desc()};
}

WeightedLayer::Built Linear::build_backward_weights(const Shape& input) const {
  using Bwd = dnnl::inner_product_backward_weights;
  const auto src = cpu::any_desc(input), w = cpu::any_desc(weight().value.shape());
  const auto dst = cpu::any_desc(output_shape(input));
  const Bwd::desc desc =
      has_bias() ? Bwd::desc(src, w, cpu::plain_desc({out_}), dst) : Bwd::desc(src, w, dst);
  const auto hint = forward_pd(*this, weight().value.shape(), input, true);
  const Bwd::primitive_desc pd(desc, cpu::engine(), hint);
  return {Bwd(pd), pd.src_desc(), pd.diff_dst_desc(), pd.diff_weights_desc()};
}

}  // namespace lb
