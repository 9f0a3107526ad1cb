// data.validation_images: a held-out split of the training set.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "runtime/core/errors.hpp"
#include "runtime/data/datasets.hpp"

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

std::vector<std::int64_t> ids(const ImageSet& set) {
  std::vector<std::int64_t> out;
  for (std::int64_t i = 0; i < set.count; ++i) {
    const float v = set.pixels[std::size_t(i * 4)];
    EXPECT_EQ(set.pixels[std::size_t(i * 4 + 3)], v);
    EXPECT_EQ(set.labels[std::size_t(i)], std::int32_t(std::int64_t(v) % 10));
    out.push_back(std::int64_t(v));
  }
  return out;
}

TEST(ValidationSplit, HoldsOutDisjointImagesAndKeepsTheRestInOrder) {
  ImageSet train = numbered_set(1000);
  const ImageSet validation = hold_out_validation(train, 100, 1);
  EXPECT_EQ(validation.count, 100);
  EXPECT_EQ(train.count, 900);
  EXPECT_EQ(validation.classes, 10);
  const auto kept = ids(train), held = ids(validation);
  EXPECT_TRUE(std::is_sorted(kept.begin(), kept.end()));
  std::set<std::int64_t> all(kept.begin(), kept.end());
  all.insert(held.begin(), held.end());
  EXPECT_EQ(all.size(), 1000u);  // disjoint and complete
  // Drawn from the whole set, not its first images.
  EXPECT_GT(*std::max_element(held.begin(), held.end()), 500);
}

TEST(ValidationSplit, DependsOnItsSeedAlone) {
  ImageSet a = numbered_set(500), b = numbered_set(500), c = numbered_set(500);
  EXPECT_EQ(ids(hold_out_validation(a, 50, 3)), ids(hold_out_validation(b, 50, 3)));
  EXPECT_NE(ids(hold_out_validation(c, 50, 4)), ids(hold_out_validation(b = numbered_set(500), 50, 3)));
}

TEST(ValidationSplit, RejectsCountsThatLeaveNoTrainingOrNoValidationImage) {
  for (std::int64_t bad : {std::int64_t(0), std::int64_t(-1), std::int64_t(10), std::int64_t(11)}) {
    ImageSet train = numbered_set(10);
    try {
      hold_out_validation(train, bad, 1);
      ADD_FAILURE() << bad << " accepted";
    } catch (const SpecError& e) {
      EXPECT_NE(std::string(e.what()).find("data.validation_images"), std::string::npos) << e.what();
    }
    EXPECT_EQ(train.count, 10);  // untouched
  }
}

}  // namespace
}  // namespace lb
