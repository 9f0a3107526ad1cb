// The model zoo. Conv layers followed by BatchNorm carry no bias (BN's β
// makes it redundant), as in the reference implementations whose parameter
// counts the tests pin.
#include <stdexcept>

#include "runtime/models/model.hpp"
#include "runtime/nn/avg_pool2d.hpp"
#include "runtime/nn/batch_norm.hpp"
#include "runtime/nn/conv2d.hpp"
#include "runtime/nn/dropout.hpp"
#include "runtime/nn/flatten.hpp"
#include "runtime/nn/global_avg_pool.hpp"
#include "runtime/nn/linear.hpp"
#include "runtime/nn/max_pool2d.hpp"
#include "runtime/nn/relu.hpp"
#include "runtime/nn/residual.hpp"

namespace lb {
namespace {

// conv -> BN -> ReLU, the unit every model here is made of. The ReLU runs
// inside the BatchNorm (one pass over memory instead of three); the cost
// table still lists it as its own row.
void conv_bn_relu(Sequential& s, const std::string& name, int in, int out, int kernel, int stride,
                  int padding) {
  s.emplace<Conv2d>(name + ".conv", in, out, kernel, stride, padding, false);
  s.emplace<BatchNorm>(name + ".bn", out).fuse_relu(name + ".relu");
}

void classifier_head(Sequential& s, int features, int classes, double dropout) {
  s.emplace<GlobalAvgPool>("avgpool");
  s.emplace<Flatten>("flatten");
  if (dropout > 0) s.emplace<Dropout>("dropout", dropout);
  s.emplace<Linear>("fc", features, classes, true);
}

// A small CNN for 28x28 inputs: two conv blocks, a BN'd hidden layer.
std::unique_ptr<Sequential> lenet_bn(const Shape& chw, int classes, double dropout) {
  auto s = std::make_unique<Sequential>("lenet_bn");
  const int c = static_cast<int>(chw[0]);
  conv_bn_relu(*s, "block1", c, 32, 5, 1, 2);
  s->emplace<MaxPool2d>("block1.pool", 2, 2);
  conv_bn_relu(*s, "block2", 32, 64, 5, 1, 2);
  s->emplace<MaxPool2d>("block2.pool", 2, 2);
  s->emplace<Flatten>("flatten");
  const auto features = static_cast<int>(64 * (chw[1] / 4) * (chw[2] / 4));
  s->emplace<Linear>("fc1", features, 128, false);
  s->emplace<BatchNorm>("fc1.bn", 128).fuse_relu("fc1.relu");
  if (dropout > 0) s->emplace<Dropout>("dropout", dropout);
  s->emplace<Linear>("fc2", 128, classes, true);
  return s;
}

// CIFAR-style basic block; projection shortcut (1x1 conv + BN) when the shape changes.
std::unique_ptr<Layer> basic_block(const std::string& name, int in, int out, int stride) {
  auto branch = std::make_unique<Sequential>(name + ".branch");
  conv_bn_relu(*branch, name + ".1", in, out, 3, stride, 1);
  branch->emplace<Conv2d>(name + ".2.conv", out, out, 3, 1, 1, false);
  branch->emplace<BatchNorm>(name + ".2.bn", out);
  std::unique_ptr<Sequential> shortcut;
  if (stride != 1 || in != out) {
    shortcut = std::make_unique<Sequential>(name + ".shortcut");
    shortcut->emplace<Conv2d>(name + ".shortcut.conv", in, out, 1, stride, 0, false);
    shortcut->emplace<BatchNorm>(name + ".shortcut.bn", out);
  }
  return std::make_unique<Residual>(name, std::move(branch), std::move(shortcut), true);
}

// He et al. 2016 ResNet-20 for 28x28/32x32 inputs: 3 stages of 3 blocks.
std::unique_ptr<Sequential> resnet20(const Shape& chw, int classes, double dropout) {
  auto s = std::make_unique<Sequential>("resnet20");
  conv_bn_relu(*s, "stem", static_cast<int>(chw[0]), 16, 3, 1, 1);
  int in = 16;
  const int widths[] = {16, 32, 64};
  for (int stage = 0; stage < 3; ++stage) {
    for (int b = 0; b < 3; ++b) {
      const int stride = (stage > 0 && b == 0) ? 2 : 1;
      const std::string name = "layer" + std::to_string(stage + 1) + "." + std::to_string(b);
      s->add(basic_block(name, in, widths[stage], stride));
      in = widths[stage];
    }
  }
  classifier_head(*s, 64, classes, dropout);
  return s;
}

// The single-tower AlexNet of torchvision (64-192-384-256-256) with the
// seed's BatchNorm after pool5; conv layers keep their biases (no BN follows).
std::unique_ptr<Sequential> alexnet_bn(const Shape& chw, int classes, double dropout) {
  auto s = std::make_unique<Sequential>("alexnet_bn");
  auto conv_relu = [&](const std::string& name, int in, int out, int k, int stride, int pad) {
    s->emplace<Conv2d>(name, in, out, k, stride, pad, true);
    s->emplace<ReLU>(name + ".relu");
  };
  conv_relu("conv1", static_cast<int>(chw[0]), 64, 11, 4, 2);
  s->emplace<MaxPool2d>("pool1", 3, 2);
  conv_relu("conv2", 64, 192, 5, 1, 2);
  s->emplace<MaxPool2d>("pool2", 3, 2);
  conv_relu("conv3", 192, 384, 3, 1, 1);
  conv_relu("conv4", 384, 256, 3, 1, 1);
  conv_relu("conv5", 256, 256, 3, 1, 1);
  s->emplace<MaxPool2d>("pool5", 3, 2);
  s->emplace<BatchNorm>("pool5.bn", 256);
  s->emplace<Flatten>("flatten");
  const Shape pooled = s->output_shape({1, chw[0], chw[1], chw[2]});
  const auto features = static_cast<int>(pooled[1]);
  if (dropout > 0) s->emplace<Dropout>("fc6.dropout", dropout);
  s->emplace<Linear>("fc6", features, 4096, true);
  s->emplace<ReLU>("fc6.relu");
  if (dropout > 0) s->emplace<Dropout>("fc7.dropout", dropout);
  s->emplace<Linear>("fc7", 4096, 4096, true);
  s->emplace<ReLU>("fc7.relu");
  s->emplace<Linear>("fc8", 4096, classes, true);
  return s;
}

// ResNet-50 v1.5 bottleneck: the stride sits on the 3x3 conv; the last BN of
// the branch starts with γ = 0 so each block begins as the identity.
std::unique_ptr<Layer> bottleneck(const std::string& name, int in, int width, int stride) {
  const int out = width * 4;
  auto branch = std::make_unique<Sequential>(name + ".branch");
  conv_bn_relu(*branch, name + ".1", in, width, 1, 1, 0);
  conv_bn_relu(*branch, name + ".2", width, width, 3, stride, 1);
  branch->emplace<Conv2d>(name + ".3.conv", width, out, 1, 1, 0, false);
  branch->emplace<BatchNorm>(name + ".3.bn", out, 0.1, 1e-5, true);
  std::unique_ptr<Sequential> shortcut;
  if (stride != 1 || in != out) {
    shortcut = std::make_unique<Sequential>(name + ".downsample");
    shortcut->emplace<Conv2d>(name + ".downsample.conv", in, out, 1, stride, 0, false);
    shortcut->emplace<BatchNorm>(name + ".downsample.bn", out);
  }
  return std::make_unique<Residual>(name, std::move(branch), std::move(shortcut), true);
}

std::unique_ptr<Sequential> resnet50(const Shape& chw, int classes, double dropout) {
  auto s = std::make_unique<Sequential>("resnet50");
  conv_bn_relu(*s, "stem", static_cast<int>(chw[0]), 64, 7, 2, 3);
  s->emplace<MaxPool2d>("stem.pool", 3, 2, 1);
  const int blocks[] = {3, 4, 6, 3};
  int in = 64;
  for (int stage = 0; stage < 4; ++stage) {
    const int width = 64 << stage;
    for (int b = 0; b < blocks[stage]; ++b) {
      const int stride = (stage > 0 && b == 0) ? 2 : 1;
      const std::string name = "layer" + std::to_string(stage + 1) + "." + std::to_string(b);
      s->add(bottleneck(name, in, width, stride));
      in = width * 4;
    }
  }
  classifier_head(*s, 2048, classes, dropout);
  return s;
}

}  // namespace

const std::vector<std::string>& model_names() {
  static const std::vector<std::string> names{"lenet_bn", "resnet20", "alexnet_bn", "resnet50"};
  return names;
}

std::unique_ptr<Model> make_model(const std::string& name, const Shape& input_chw, int classes,
                                  double dropout) {
  if (input_chw.size() != 3) throw std::invalid_argument("model input must be (C, H, W)");
  auto model = std::make_unique<Model>();
  model->name = name;
  model->input_chw = input_chw;
  model->classes = classes;
  if (name == "lenet_bn")
    model->net = lenet_bn(input_chw, classes, dropout);
  else if (name == "resnet20")
    model->net = resnet20(input_chw, classes, dropout);
  else if (name == "alexnet_bn")
    model->net = alexnet_bn(input_chw, classes, dropout);
  else if (name == "resnet50")
    model->net = resnet50(input_chw, classes, dropout);
  else
    throw std::invalid_argument("unknown model \"" + name + "\"");
  model->net->set_needs_input_grad(false);
  // output_shape() throws on an input the layers cannot take (e.g. too small).
  const Shape out = model->net->output_shape(model->input_shape(1));
  if (out != Shape{1, classes}) {
    throw std::invalid_argument(name + " produces " + to_string(out) + ", not [1, classes]");
  }
  return model;
}

}  // namespace lb
