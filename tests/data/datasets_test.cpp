// The installed Fashion-MNIST files and the synthetic dataset.
#include "runtime/data/datasets.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "runtime/core/errors.hpp"

namespace lb {
namespace {

const char* const kFashionDir = "/usr/share/datasets/fashion-mnist";

TEST(Datasets, LoadsRealFashionMnist) {
  if (!std::filesystem::exists(kFashionDir)) {
    GTEST_SKIP() << "SKIPPED: " << kFashionDir << " is not installed";
  }
  DataSpec spec;
  spec.dir = kFashionDir;
  const ImageSet train = load_dataset(spec, true, 1);
  EXPECT_EQ(train.count, 60000);
  EXPECT_EQ(train.classes, 10);
  EXPECT_EQ(train.channels, 1);
  EXPECT_EQ(train.height, 28);
  EXPECT_EQ(train.width, 28);
  EXPECT_EQ(train.pixels.size(), 60000u * 28 * 28);
  // Normalised with the training statistics: mean about 0, std about 1.
  const double mean =
      std::accumulate(train.pixels.begin(), train.pixels.end(), 0.0) / double(train.pixels.size());
  EXPECT_NEAR(mean, 0.0, 0.01);
  std::vector<int> per_class(10);
  for (std::int32_t label : train.labels) ++per_class.at(std::size_t(label));
  for (int n : per_class) EXPECT_EQ(n, 6000);  // Fashion-MNIST is balanced

  const ImageSet test = load_dataset(spec, false, 1);
  EXPECT_EQ(test.count, 10000);
  EXPECT_EQ(test.classes, 10);

  spec.train_subset = 1000;
  const ImageSet subset = load_dataset(spec, true, 1);
  EXPECT_EQ(subset.count, 1000);
  EXPECT_TRUE(std::equal(subset.pixels.begin(), subset.pixels.end(), train.pixels.begin()));
  EXPECT_EQ(load_dataset(spec, false, 1).count, 10000);  // the subset is for training only
}

TEST(Datasets, MissingDirectoryIsADataError) {
  DataSpec spec;
  spec.dir = "/nonexistent/fashion";
  EXPECT_THROW(load_dataset(spec, true, 1), DataError);
}

TEST(Datasets, UnknownDatasetIsASpecError) {
  // An unknown name cannot reach load_dataset: the spec parser rejects it.
  EXPECT_THROW(parse_spec({{"data", {{"dataset", "imagenet"}}}}), SpecError);
}

TEST(Datasets, SyntheticIsDeterministicBySeed) {
  DataSpec spec;
  spec.dataset = Dataset::synthetic;
  spec.synthetic = {
      .train_images = 300, .test_images = 50, .channels = 3, .height = 8, .width = 6, .classes = 4};
  const ImageSet a = load_dataset(spec, true, 7);
  const ImageSet b = load_dataset(spec, true, 7);
  const ImageSet c = load_dataset(spec, true, 8);
  EXPECT_EQ(a.count, 300);
  EXPECT_EQ(a.image_size(), 3 * 8 * 6);
  EXPECT_EQ(a.classes, 4);
  EXPECT_EQ(a.pixels, b.pixels);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_NE(a.pixels, c.pixels);
  for (std::int32_t label : a.labels) EXPECT_TRUE(label >= 0 && label < 4);
  for (float x : a.pixels) EXPECT_TRUE(std::isfinite(x));

  const ImageSet test = load_dataset(spec, false, 7);
  EXPECT_EQ(test.count, 50);
  EXPECT_FALSE(std::equal(test.pixels.begin(), test.pixels.end(), a.pixels.begin()));

  spec.train_subset = 100;
  EXPECT_EQ(load_dataset(spec, true, 7).count, 100);
}

// Nearest class mean, estimated on the training set, classifies the test set
// far above chance: the data is learnable.
TEST(Datasets, SyntheticIsLearnable) {
  const SyntheticSpec spec{.train_images = 2000,
                           .test_images = 500,
                           .channels = 1,
                           .height = 10,
                           .width = 10,
                           .classes = 5};
  const ImageSet train = make_synthetic(spec, true, 3);
  const ImageSet test = make_synthetic(spec, false, 3);
  const std::size_t size = std::size_t(train.image_size());
  std::vector<double> means(5 * size);
  std::vector<int> counts(5);
  for (std::int64_t i = 0; i < train.count; ++i) {
    const auto label = std::size_t(train.labels[std::size_t(i)]);
    ++counts[label];
    for (std::size_t k = 0; k < size; ++k) means[label * size + k] += train.pixels[i * size + k];
  }
  for (std::size_t c = 0; c < 5; ++c) {
    ASSERT_GT(counts[c], 300);  // labels are roughly uniform
    for (std::size_t k = 0; k < size; ++k) means[c * size + k] /= counts[c];
  }
  int correct = 0;
  for (std::int64_t i = 0; i < test.count; ++i) {
    double best = 1e300;
    int guess = -1;
    for (int c = 0; c < 5; ++c) {
      double d = 0;
      for (std::size_t k = 0; k < size; ++k) {
        const double diff = test.pixels[i * size + k] - means[c * size + k];
        d += diff * diff;
      }
      if (d < best) best = d, guess = c;
    }
    correct += guess == test.labels[std::size_t(i)];
  }
  EXPECT_GT(correct, 400);
}

}  // namespace
}  // namespace lb
