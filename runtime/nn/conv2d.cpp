#include "runtime/nn/conv2d.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "runtime/nn/onednn/operand.hpp"
#include "runtime/nn/onednn/weighted_primitive.hpp"

namespace lb {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;

namespace {

// oneDNN's Winograd kernels work on blocks of 16 channels and pad smaller
// counts up to that, so a layer with fewer channels pays for 16 and loses to
// direct convolution: resnet20's first layer (1 -> 16 channels, 28x28, batch
// 256, 2 threads) takes 6.8 ms Winograd against 0.8 ms direct for forward
// plus backward-weights.
constexpr int kWinogradMinChannels = 16;

// The algorithms to try, preferred first, always ending with direct (which
// oneDNN implements for every shape).
std::vector<algorithm> candidate_algorithms(int in_channels, int out_channels) {
  const bool wide = std::min(in_channels, out_channels) >= kWinogradMinChannels;
  switch (cpu::conv_algorithm()) {
    case cpu::ConvAlgorithm::winograd:
      if (!wide) break;
      return {algorithm::convolution_winograd, algorithm::convolution_direct};
    case cpu::ConvAlgorithm::automatic:
      return {algorithm::convolution_auto, algorithm::convolution_direct};
    case cpu::ConvAlgorithm::direct:
      break;
  }
  return {algorithm::convolution_direct};
}

// make(alg) for the first candidate oneDNN has an implementation of: Winograd
// exists only for some shapes (3x3, stride 1), so other layers fall back.
template <class Make>
auto first_implemented(const std::vector<algorithm>& candidates, Make make) {
  for (std::size_t i = 0; i + 1 < candidates.size(); ++i) {
    try {
      return make(candidates[i]);
    } catch (const dnnl::error& e) {
      if (e.status != dnnl_unimplemented) throw;
    }
  }
  return make(candidates.back());
}

// The typed forward descriptor, also the hint the backward ones need.
dnnl::convolution_forward::primitive_desc forward_pd(const Conv2d& layer, const Shape& weights,
                                                     const Shape& input, bool training) {
  using Fwd = dnnl::convolution_forward;
  const memory::dims strides{layer.stride(), layer.stride()}, pad{layer.padding(), layer.padding()};
  const prop_kind prop = training ? prop_kind::forward_training : prop_kind::forward_inference;
  const auto src = cpu::any_desc(input), w = cpu::any_desc(weights);
  const auto dst = cpu::any_desc(layer.output_shape(input));
  const auto bias = cpu::plain_desc({layer.out_channels()});
  return first_implemented(
      candidate_algorithms(layer.in_channels(), layer.out_channels()), [&](algorithm alg) {
        const Fwd::desc desc = layer.has_bias()
                                   ? Fwd::desc(prop, alg, src, w, bias, dst, strides, pad, pad)
                                   : Fwd::desc(prop, alg, src, w, dst, strides, pad, pad);
        return Fwd::primitive_desc(desc, cpu::engine());
      });
}

}  // namespace

Conv2d::Conv2d(std::string name, int in_channels, int out_channels, int kernel, int stride,
               int padding, bool bias)
    : WeightedLayer(std::move(name), bias),
      in_(in_channels),
      out_(out_channels),
      kernel_(kernel),
      stride_(stride),
      padding_(padding) {
  if (in_ <= 0 || out_ <= 0 || kernel_ <= 0 || stride_ <= 0 || padding_ < 0) {
    throw std::invalid_argument(this->name() + ": conv2d needs positive channels, kernel and " +
                                "stride and a non-negative padding");
  }
}

Conv2d::~Conv2d() = default;

Shape Conv2d::output_shape(const Shape& input) const {
  if (input.size() != 4 || input[1] != in_) {
    throw std::invalid_argument(name() + ": conv2d expects input (N, " + std::to_string(in_) +
                                ", H, W), got " + to_string(input));
  }
  auto out_dim = [&](std::int64_t d) { return (d + 2 * padding_ - kernel_) / stride_ + 1; };
  if (input[2] + 2 * padding_ < kernel_ || input[3] + 2 * padding_ < kernel_) {
    throw std::invalid_argument(name() + ": input " + to_string(input) +
                                " is smaller than the kernel " + std::to_string(kernel_));
  }
  return {input[0], out_, out_dim(input[2]), out_dim(input[3])};
}

std::int64_t Conv2d::param_count() const {
  return std::int64_t(out_) * in_ * kernel_ * kernel_ + (has_bias() ? out_ : 0);
}

double Conv2d::forward_flops(const Shape& input) const {
  const double outputs = double(numel(output_shape(input)));
  // One multiply-add (2 FLOPs) per weight per output, plus the bias add.
  return outputs * (2.0 * in_ * kernel_ * kernel_ + (has_bias() ? 1 : 0));
}

void Conv2d::init(Rng& rng) {
  allocate({out_, in_, kernel_, kernel_}, out_);
  // kaiming_normal_(mode='fan_out', nonlinearity='relu'), as torchvision's
  // ResNet initialises its convolutions.
  std::normal_distribution<float> normal(0.0f, std::sqrt(2.0f / float(out_ * kernel_ * kernel_)));
  for (float& v : weight().value.span()) v = normal(rng);
}

WeightedLayer::Built Conv2d::build_forward(const Shape& input, bool training) const {
  const auto pd = forward_pd(*this, weight().value.shape(), input, training);
  return {dnnl::convolution_forward(pd), pd.src_desc(), pd.weights_desc(), pd.dst_desc()};
}

WeightedLayer::Built Conv2d::build_backward_data(const Shape& input) const {
  using Bwd = dnnl::convolution_backward_data;
  const memory::dims strides{stride_, stride_}, pad{padding_, padding_};
  const auto hint = forward_pd(*this, weight().value.shape(), input, true);
  const Bwd::primitive_desc pd =
      first_implemented(candidate_algorithms(in_, out_), [&](algorithm alg) {
        const Bwd::desc desc(alg, cpu::any_desc(input), cpu::any_desc(weight().value.shape()),
                             cpu::any_desc(output_shape(input)), strides, pad, pad);
        return Bwd::primitive_desc(desc, cpu::engine(), hint);
      });
  return {Bwd(pd), pd.diff_dst_desc(), pd.weights_desc(), pd.diff_src_desc()};
}

WeightedLayer::Built Conv2d::build_backward_weights(const Shape& input) const {
  using Bwd = dnnl::convolution_backward_weights;
  const memory::dims strides{stride_, stride_}, pad{padding_, padding_};
  const auto src = cpu::any_desc(input), w = cpu::any_desc(weight().value.shape());
  const auto dst = cpu::any_desc(output_shape(input));
  const auto hint = forward_pd(*this, weight().value.shape(), input, true);
  const Bwd::primitive_desc pd =
      first_implemented(candidate_algorithms(in_, out_), [&](algorithm alg) {
        const Bwd::desc desc =
            has_bias() ? Bwd::desc(alg, src, w, cpu::plain_desc({out_}), dst, strides, pad, pad)
                       : Bwd::desc(alg, src, w, dst, strides, pad, pad);
        return Bwd::primitive_desc(desc, cpu::engine(), hint);
      });
  return {Bwd(pd), pd.src_desc(), pd.diff_dst_desc(), pd.diff_weights_desc()};
}

}  // namespace lb
