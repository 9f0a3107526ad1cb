#include "runtime/data/datasets.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "runtime/core/errors.hpp"
#include "runtime/core/rng.hpp"
#include "runtime/data/idx.hpp"
#include "runtime/data/sampling.hpp"

namespace lb {
namespace {

// Mean and standard deviation of the Fashion-MNIST training pixels scaled to
// [0, 1]; the test set is normalised with the same values.
constexpr float kFashionMean = 0.2860f;
constexpr float kFashionStd = 0.3530f;
constexpr int kFashionClasses = 10;

// Separates the synthetic streams from the shuffle and augmentation streams,
// which also derive from the run's seed.
constexpr std::uint64_t kSyntheticTag = 0x5e17'da7a'0000'0001ull;
// Class means are this fraction of the noise: easy to learn, not trivial.
constexpr float kSyntheticSignal = 0.5f;

ImageSet load_fashion_mnist(const DataSpec& spec, bool train) {
  const std::filesystem::path dir = spec.dir;
  const std::string prefix = train ? "train" : "t10k";
  const std::filesystem::path labels = dir / (prefix + "-labels-idx1-ubyte.gz");
  ImageSet set =
      read_idx(dir / (prefix + "-images-idx3-ubyte.gz"), labels, kFashionMean, kFashionStd);
  if (set.classes > kFashionClasses) {
    throw DataError(labels.string(), "label " + std::to_string(set.classes - 1) +
                                         " out of range for Fashion-MNIST's " +
                                         std::to_string(kFashionClasses) + " classes");
  }
  set.classes = kFashionClasses;  // even if a subset lacks the last class
  return set;
}

// Keeps the first n images.
void truncate(ImageSet& set, std::int64_t n, const std::string& source) {
  if (n > set.count) {
    throw SpecError("data.train_subset", std::to_string(n) + " exceeds the " +
                                             std::to_string(set.count) + " images in " + source);
  }
  set.count = n;
  set.pixels.resize(std::size_t(n * set.image_size()));
  set.labels.resize(std::size_t(n));
}

}  // namespace

ImageSet make_synthetic(const SyntheticSpec& spec, bool train, std::uint64_t seed) {
  const std::int64_t count = train ? spec.train_images : spec.test_images;
  if (count < 0 || spec.channels <= 0 || spec.height <= 0 || spec.width <= 0 || spec.classes <= 0) {
    throw SpecError("data.synthetic", "image counts, shape and classes must be positive");
  }
  ImageSet set;
  set.count = count;
  set.channels = spec.channels;
  set.height = spec.height;
  set.width = spec.width;
  set.classes = spec.classes;
  const std::size_t size = std::size_t(set.image_size());

  Rng pattern_rng(mix(seed, kSyntheticTag));
  std::vector<float> means(size * std::size_t(spec.classes));
  fill_standard_normal(pattern_rng, means);
  for (float& m : means) m *= kSyntheticSignal;

  Rng rng(mix(seed, kSyntheticTag, train ? 1 : 2));
  set.pixels.resize(size * std::size_t(count));
  fill_standard_normal(rng, set.pixels);
  set.labels.resize(std::size_t(count));
  for (std::int64_t i = 0; i < count; ++i) {
    const auto label = std::int32_t(uniform_index(rng, std::uint64_t(spec.classes)));
    set.labels[std::size_t(i)] = label;
    const float* mean = means.data() + std::size_t(label) * size;
    float* image = set.pixels.data() + std::size_t(i) * size;
    for (std::size_t k = 0; k < size; ++k) image[k] += mean[k];
  }
  return set;
}

std::string dataset_source(const DataSpec& spec, bool train) {
  if (spec.dataset == Dataset::synthetic)
    return train ? "the synthetic training set" : "the synthetic test set";
  const std::string prefix = train ? "train" : "t10k";
  return (std::filesystem::path(spec.dir) / (prefix + "-images-idx3-ubyte.gz")).string();
}

ImageSet load_dataset(const DataSpec& spec, bool train, std::uint64_t seed) {
  ImageSet set;
  switch (spec.dataset) {
    case Dataset::fashion_mnist:
      set = load_fashion_mnist(spec, train);
      break;
    case Dataset::synthetic:
      set = make_synthetic(spec.synthetic, train, seed);
      break;
    case Dataset::imagefolder:
    case Dataset::shards:  // read image by image (data_sources.cpp), never into memory
      throw SpecError("data.dataset", "unknown dataset '" + to_string(spec.dataset) +
                                          "' (expected fashion_mnist or synthetic)");
  }
  // An empty set would train no step, or evaluate to 0/0.
  if (set.count == 0) throw DataError(dataset_source(spec, train), "holds no images");
  if (train && spec.train_subset > 0) truncate(set, spec.train_subset, dataset_source(spec, train));
  return set;
}

}  // namespace lb
