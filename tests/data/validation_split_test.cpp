// data.validation_images: a held-out split of the training set.
#include "runtime/data/validation_split.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>

#include "runtime/core/errors.hpp"
#include "runtime/data/image_set_source.hpp"

namespace lb {
namespace {

// Image i holds the value i in every pixel and the label i % 10, so every
// image can be traced through the split.
ImageSet numbered_set(std::int64_t count) {
  ImageSet set;
  set.count = count;
  set.channels = 1;
  set.height = 2;
  set.width = 2;
  set.classes = 10;
  for (std::int64_t i = 0; i < count; ++i) {
    for (int k = 0; k < 4; ++k) set.pixels.push_back(float(i));
    set.labels.push_back(std::int32_t(i % 10));
  }
  return set;
}

std::shared_ptr<const SampleSource> numbered_source(std::int64_t count) {
  return std::make_shared<ImageSetSource>(std::make_shared<const ImageSet>(numbered_set(count)),
                                          AugmentSpec{});
}

// The numbers of a source's images, checking each image's label against it.
std::vector<std::int64_t> ids(const SampleSource& source) {
  std::vector<std::int64_t> out;
  float pixels[4];
  for (std::int64_t i = 0; i < source.count(); ++i) {
    const std::int32_t label = source.write_sample(i, std::nullopt, pixels);
    const float v = pixels[0];
    EXPECT_EQ(pixels[3], v);
    EXPECT_EQ(label, std::int32_t(std::int64_t(v) % 10));
    out.push_back(std::int64_t(v));
  }
  return out;
}

TEST(ValidationSplit, HoldsOutDisjointImagesAndKeepsTheRestInOrder) {
  const HeldOut split = hold_out_validation(numbered_source(1000), 100, 1);
  EXPECT_EQ(split.validation->count(), 100);
  EXPECT_EQ(split.train->count(), 900);
  EXPECT_EQ(split.validation->classes(), 10);
  const auto kept = ids(*split.train), held = ids(*split.validation);
  EXPECT_TRUE(std::is_sorted(kept.begin(), kept.end()));
  std::set<std::int64_t> all(kept.begin(), kept.end());
  all.insert(held.begin(), held.end());
  EXPECT_EQ(all.size(), 1000u);  // disjoint and complete
  // Drawn from the whole set, not its first images.
  EXPECT_GT(*std::max_element(held.begin(), held.end()), 500);
}

TEST(ValidationSplit, DependsOnItsSeedAndSizeAlone) {
  EXPECT_EQ(split_validation(500, 50, 3).held_out, split_validation(500, 50, 3).held_out);
  EXPECT_NE(split_validation(500, 50, 4).held_out, split_validation(500, 50, 3).held_out);
  EXPECT_EQ(ids(*hold_out_validation(numbered_source(500), 50, 3).validation),
            split_validation(500, 50, 3).held_out);
}

TEST(ValidationSplit, RejectsCountsThatLeaveNoTrainingOrNoValidationImage) {
  for (std::int64_t bad : {std::int64_t(0), std::int64_t(-1), std::int64_t(10), std::int64_t(11)}) {
    try {
      hold_out_validation(numbered_source(10), bad, 1);
      ADD_FAILURE() << bad << " accepted";
    } catch (const SpecError& e) {
      EXPECT_NE(std::string(e.what()).find("data.validation_images"), std::string::npos)
          << e.what();
    }
  }
}

TEST(ValidationSplit, ASubsetRefusesIndicesOutsideItsBase) {
  EXPECT_THROW(SubsetSource(numbered_source(10), {0, 10}), std::invalid_argument);
  EXPECT_THROW(SubsetSource(numbered_source(10), {-1}), std::invalid_argument);
}

}  // namespace
}  // namespace lb
