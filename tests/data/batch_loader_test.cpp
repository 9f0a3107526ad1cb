// Shuffling, sharding, determinism and augmentation of BatchLoader.
#include "runtime/data/batch_loader.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "runtime/data/augment.hpp"

namespace lb {
namespace {

constexpr float kPad = -7.5f;

// Pixel k of image i is i * 1000 + k, so any copied value names its source.
ImageSet numbered_set(std::int64_t count, int channels = 2, int height = 5, int width = 4) {
  ImageSet set;
  set.count = count;
  set.channels = channels;
  set.height = height;
  set.width = width;
  set.classes = 10;
  set.pad_value = kPad;
  const std::int64_t size = set.image_size();
  for (std::int64_t i = 0; i < count; ++i) {
    for (std::int64_t k = 0; k < size; ++k) set.pixels.push_back(float(i * 1000 + k));
    set.labels.push_back(std::int32_t(i % 10));
  }
  return set;
}

std::int64_t sample_of(const Batch& batch, std::int64_t i) {
  const std::int64_t size = batch.images.numel() / batch.images.dim(0);
  return std::int64_t(batch.images[i * size]) / 1000;
}

// The dataset indices of a batch, checking pixels and labels are the source's.
std::vector<std::int64_t> exact_samples(const ImageSet& set, const Batch& batch) {
  std::vector<std::int64_t> ids;
  const std::int64_t size = set.image_size();
  for (std::int64_t i = 0; i < batch.images.dim(0); ++i) {
    const std::int64_t id = sample_of(batch, i);
    EXPECT_EQ(std::memcmp(batch.images.data() + i * size, set.pixels.data() + id * size,
                          sizeof(float) * std::size_t(size)),
              0);
    EXPECT_EQ(batch.labels[std::size_t(i)], set.labels[std::size_t(id)]);
    ids.push_back(id);
  }
  return ids;
}

LoaderOptions options(std::int64_t global_batch, int rank = 0, int world = 1) {
  return {.global_batch = global_batch,
          .shuffle = true,
          .augment = false,
          .augment_spec = {},
          .seed = 42,
          .rank = rank,
          .world = world,
          .drop_last = false};
}

bool same_bytes(const Batch& a, const Batch& b) {
  return a.images.shape() == b.images.shape() && a.labels == b.labels &&
         std::memcmp(a.images.data(), b.images.data(), sizeof(float) * a.images.numel()) == 0;
}

TEST(BatchLoader, BatchCounts) {
  const ImageSet set = numbered_set(45);
  LoaderOptions o = options(7);
  EXPECT_EQ(BatchLoader(set, o).batches_per_epoch(), 7);
  EXPECT_EQ(BatchLoader(set, o).local_batch(6), 3);
  o.drop_last = true;
  BatchLoader dropping(set, o);
  EXPECT_EQ(dropping.batches_per_epoch(), 6);
  Batch batch;
  EXPECT_THROW(dropping.fill(0, 6, batch), std::out_of_range);
  EXPECT_THROW(dropping.fill(0, -1, batch), std::out_of_range);
  EXPECT_THROW(BatchLoader(set, options(7, 3, 3)), std::invalid_argument);
  EXPECT_THROW(BatchLoader(set, options(0)), std::invalid_argument);
}

TEST(BatchLoader, EverySampleOncePerEpoch) {
  const ImageSet set = numbered_set(45);
  BatchLoader loader(set, options(7));
  std::vector<std::int64_t> seen;
  Batch batch;
  for (std::int64_t b = 0; b < loader.batches_per_epoch(); ++b) {
    loader.fill(3, b, batch);
    EXPECT_EQ(batch.epoch, 3);
    EXPECT_EQ(batch.index, b);
    EXPECT_EQ(batch.images.shape(), (Shape{loader.local_batch(b), 2, 5, 4}));
    for (std::int64_t id : exact_samples(set, batch)) seen.push_back(id);
  }
  std::sort(seen.begin(), seen.end());
  std::vector<std::int64_t> all(45);
  for (std::int64_t i = 0; i < 45; ++i) all[std::size_t(i)] = i;
  EXPECT_EQ(seen, all);
}

// world=3 with a batch of 8: shares 3, 3, 2 that together are the world=1
// batch, in rank order; every sample once over all batches and ranks.
TEST(BatchLoader, ShardsCoverTheGlobalBatch) {
  const ImageSet set = numbered_set(45);
  BatchLoader whole(set, options(8));
  std::multiset<std::int64_t> seen;
  Batch global, part;
  for (std::int64_t b = 0; b < whole.batches_per_epoch(); ++b) {
    whole.fill(1, b, global);
    std::vector<std::int64_t> joined;
    for (int rank = 0; rank < 3; ++rank) {
      BatchLoader loader(set, options(8, rank, 3));
      loader.fill(1, b, part);
      EXPECT_EQ(part.images.dim(0), loader.local_batch(b));
      for (std::int64_t id : exact_samples(set, part)) joined.push_back(id);
    }
    EXPECT_EQ(joined, exact_samples(set, global));
    seen.insert(joined.begin(), joined.end());
  }
  EXPECT_EQ(seen.size(), 45u);
  EXPECT_EQ(std::set<std::int64_t>(seen.begin(), seen.end()).size(), 45u);
  EXPECT_EQ(BatchLoader(set, options(8, 0, 3)).local_batch(0), 3);
  EXPECT_EQ(BatchLoader(set, options(8, 1, 3)).local_batch(0), 3);
  EXPECT_EQ(BatchLoader(set, options(8, 2, 3)).local_batch(0), 2);
  EXPECT_EQ(BatchLoader(set, options(8, 0, 3)).local_batch(5), 2);  // last batch: 5 samples
  EXPECT_EQ(BatchLoader(set, options(8, 2, 3)).local_batch(5), 1);
}

std::vector<std::int64_t> epoch_order(const ImageSet& set, const BatchLoader& loader,
                                      std::int64_t epoch) {
  std::vector<std::int64_t> order;
  Batch batch;
  for (std::int64_t b = 0; b < loader.batches_per_epoch(); ++b) {
    loader.fill(epoch, b, batch);
    for (std::int64_t id : exact_samples(set, batch)) order.push_back(id);
  }
  return order;
}

TEST(BatchLoader, EpochsAndSeedsGiveDifferentOrders) {
  const ImageSet set = numbered_set(45);
  BatchLoader loader(set, options(9));
  EXPECT_NE(epoch_order(set, loader, 0), epoch_order(set, loader, 1));
  LoaderOptions other = options(9);
  other.seed = 43;
  EXPECT_NE(epoch_order(set, loader, 0), epoch_order(set, BatchLoader(set, other), 0));
  LoaderOptions plain = options(9);
  plain.shuffle = false;
  std::vector<std::int64_t> identity(45);
  for (std::int64_t i = 0; i < 45; ++i) identity[std::size_t(i)] = i;
  EXPECT_EQ(epoch_order(set, BatchLoader(set, plain), 5), identity);
}

LoaderOptions augmenting(std::int64_t global_batch, int padding, bool flip) {
  LoaderOptions o = options(global_batch);
  o.augment = true;
  o.augment_spec = {.crop_padding = padding, .horizontal_flip = flip};
  return o;
}

// Batches of several epochs, filled in order, backwards, interleaved across
// epochs (evicting the permutation cache) and from threads, are identical.
TEST(BatchLoader, FillIsAPureFunctionOfItsArguments) {
  const ImageSet set = numbered_set(60);
  const LoaderOptions o = augmenting(8, 2, true);
  BatchLoader first(set, o);
  const std::int64_t batches = first.batches_per_epoch();
  std::map<std::pair<std::int64_t, std::int64_t>, Batch> expected;
  for (std::int64_t e = 0; e < 4; ++e) {
    for (std::int64_t b = 0; b < batches; ++b) first.fill(e, b, expected[{e, b}]);
  }
  BatchLoader second(set, o);
  Batch batch;
  for (std::int64_t b = batches - 1; b >= 0; --b) {
    for (std::int64_t e = 3; e >= 0; --e) {
      second.fill(e, b, batch);
      EXPECT_TRUE(same_bytes(batch, expected[{e, b}])) << e << " " << b;
    }
  }
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Batch local;
      for (int round = 0; round < 20; ++round) {
        for (std::int64_t k = 0; k < 4 * batches; ++k) {
          const std::int64_t e = (k + t + round) % 4, b = (k * 5 + t) % batches;
          second.fill(e, b, local);
          mismatches[std::size_t(t)] += !same_bytes(local, expected.at({e, b}));
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

// A sample's augmentation depends on (seed, epoch, sample) only, not on the
// world size or the batch it lands in.
TEST(BatchLoader, AugmentationIndependentOfSharding) {
  const ImageSet set = numbered_set(45);
  LoaderOptions o = augmenting(9, 2, true);
  BatchLoader whole(set, o);
  o.rank = 1;
  o.world = 2;
  BatchLoader half(set, o);
  Batch a, b;
  whole.fill(2, 3, a);
  half.fill(2, 3, b);
  const std::int64_t size = set.image_size(), offset = 5;  // rank 1 of 2 starts at 5 of 9
  ASSERT_EQ(b.images.dim(0), 4);
  EXPECT_EQ(std::memcmp(a.images.data() + offset * size, b.images.data(),
                        sizeof(float) * std::size_t(4 * size)),
            0);
}

// Straightforward per-pixel reference for apply_crop_flip.
float reference_pixel(const ImageSet& set, std::int64_t id, const CropFlip& op, int c, int y,
                      int x) {
  const int cx = op.flip ? set.width - 1 - x : x;
  const int sy = y + op.dy - op.padding, sx = cx + op.dx - op.padding;
  if (sy < 0 || sy >= set.height || sx < 0 || sx >= set.width) return set.pad_value;
  return set.pixels[std::size_t(id * set.image_size() + (c * set.height + sy) * set.width + sx)];
}

TEST(Augment, CropFlipMatchesReferenceForEveryOffset) {
  const ImageSet set = numbered_set(2, 3, 5, 4);
  std::vector<float> out(std::size_t(set.image_size()));
  for (int padding : {0, 1, 3, 6}) {
    for (int dy = 0; dy <= 2 * padding; ++dy) {
      for (int dx = 0; dx <= 2 * padding; ++dx) {
        for (bool flip : {false, true}) {
          const CropFlip op{padding, dy, dx, flip};
          apply_crop_flip(set.pixels.data() + set.image_size(), out.data(), 3, 5, 4, op, kPad);
          std::size_t k = 0;
          for (int c = 0; c < 3; ++c)
            for (int y = 0; y < 5; ++y)
              for (int x = 0; x < 4; ++x, ++k)
                ASSERT_EQ(out[k], reference_pixel(set, 1, op, c, y, x))
                    << padding << " " << dy << " " << dx << " " << flip;
        }
      }
    }
  }
}

TEST(Augment, CropKeepsSourceOrPadValues) {
  const ImageSet set = numbered_set(64);
  BatchLoader loader(set, augmenting(64, 2, false));
  Batch batch;
  loader.fill(0, 0, batch);
  const std::int64_t size = set.image_size();
  int padded = 0, moved = 0;
  for (std::int64_t i = 0; i < 64; ++i) {
    const float* image = batch.images.data() + i * size;
    const auto real = std::find_if(image, image + size, [](float v) { return v != kPad; });
    ASSERT_NE(real, image + size);  // a 2-pixel shift never hides the whole image
    const std::int64_t id = std::int64_t(*real) / 1000;
    std::set<float> source(set.pixels.begin() + id * size, set.pixels.begin() + (id + 1) * size);
    source.insert(kPad);
    for (std::int64_t k = 0; k < size; ++k) ASSERT_TRUE(source.count(image[k])) << image[k];
    padded += std::count(image, image + size, kPad) > 0;
    moved += std::memcmp(image, set.pixels.data() + id * size, sizeof(float) * size) != 0;
  }
  EXPECT_GT(padded, 32);  // 24 of 25 offsets pad something
  EXPECT_GT(moved, 32);
}

TEST(Augment, FlipReversesRows) {
  const ImageSet set = numbered_set(64);
  BatchLoader loader(set, augmenting(64, 0, true));
  Batch batch;
  loader.fill(0, 0, batch);
  const std::int64_t size = set.image_size();
  int flipped = 0;
  for (std::int64_t i = 0; i < 64; ++i) {
    const float* image = batch.images.data() + i * size;
    const std::int64_t id = std::int64_t(image[0]) / 1000;
    std::vector<float> mirrored(set.pixels.begin() + id * size,
                                set.pixels.begin() + (id + 1) * size);
    for (auto row = mirrored.begin(); row != mirrored.end(); row += set.width) {
      std::reverse(row, row + set.width);
    }
    const bool same = std::equal(image, image + size, set.pixels.begin() + id * size);
    const bool flip = std::equal(image, image + size, mirrored.begin());
    EXPECT_TRUE(same || flip) << i;
    flipped += flip;
  }
  EXPECT_GT(flipped, 16);  // probability 0.5 each
  EXPECT_LT(flipped, 48);
}

TEST(Augment, OffGivesExactSourcePixels) {
  const ImageSet set = numbered_set(45);
  LoaderOptions o = options(45);
  o.augment = false;
  o.augment_spec = {.crop_padding = 4, .horizontal_flip = true};  // ignored when off
  Batch batch;
  BatchLoader(set, o).fill(0, 0, batch);
  EXPECT_EQ(exact_samples(set, batch).size(), 45u);
}

}  // namespace
}  // namespace lb
