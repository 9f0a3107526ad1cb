#include <gtest/gtest.h>

#include "runtime/models/model.hpp"

namespace lb {
namespace {

std::int64_t count(const std::string& name, const Shape& chw, int classes) {
  return make_model(name, chw, classes)->param_count();
}

TEST(Zoo, ResNet50HasTheReferenceParameterCount) {
  EXPECT_EQ(count("resnet50", {3, 224, 224}, 1000), 25'557'032);
}

// torchvision's AlexNet has 61,100,840 parameters; the BatchNorm after pool5
// adds γ and β for its 256 channels.
TEST(Zoo, AlexNetBnIsTorchvisionAlexNetPlusPool5BatchNorm) {
  EXPECT_EQ(count("alexnet_bn", {3, 224, 224}, 1000), 61'100'840 + 2 * 256);
}

TEST(Zoo, SmallModelsForFashionMnist) {
  // resnet20 with projection shortcuts: 16/32/64 channels, 3 blocks a stage.
  EXPECT_EQ(count("resnet20", {1, 28, 28}, 10), 272'186);
  EXPECT_EQ(count("lenet_bn", {1, 28, 28}, 10),
            (25 * 32 + 64) + (32 * 25 * 64 + 128) + (3136 * 128 + 256) + (128 * 10 + 10));
}

TEST(Zoo, LayerTableShapesAndFlops) {
  const auto model = make_model("resnet50", {3, 224, 224}, 1000);
  const auto rows = model->layer_table(2);
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.front().name, "stem.conv");
  EXPECT_EQ(rows.front().output_shape, (Shape{2, 64, 112, 112}));
  EXPECT_EQ(rows.back().name, "fc");
  EXPECT_EQ(rows.back().output_shape, (Shape{2, 1000}));
  double flops = 0;
  std::int64_t params = 0;
  for (const auto& r : rows) {
    flops += r.forward_flops;
    params += r.params;
  }
  EXPECT_EQ(params, 25'557'032);
  // ResNet-50 v1.5: about 4.1 G multiply-adds (8.2 GFLOPs) per 224x224 image.
  const double per_image = flops / 2;
  EXPECT_GT(per_image, 7.8e9);
  EXPECT_LT(per_image, 8.6e9);
}

TEST(Zoo, UnknownModelOrTooSmallInputThrows) {
  EXPECT_THROW(make_model("vgg16", {3, 224, 224}, 1000), std::invalid_argument);
  EXPECT_THROW(make_model("alexnet_bn", {1, 28, 28}, 10), std::invalid_argument);
}

TEST(Zoo, InitAllocatesEveryParameter) {
  auto model = make_model("lenet_bn", {1, 28, 28}, 10);
  Rng rng(1);
  model->net->init(rng);
  std::int64_t total = 0;
  for (Param* p : model->net->params()) {
    EXPECT_EQ(p->value.numel(), p->grad.numel()) << p->name;
    total += p->value.numel();
  }
  EXPECT_EQ(total, model->param_count());
}

}  // namespace
}  // namespace lb
