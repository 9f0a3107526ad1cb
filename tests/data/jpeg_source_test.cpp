// JpegSource through BatchLoader: shapes, labels, determinism, fp16 output,
// and every kind of bad image, stopping or skipped (data.skip_corrupt).
#include "runtime/data/jpeg_source.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <thread>

#include "jpeg_fixtures.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/core/half.hpp"
#include "runtime/data/batch_loader.hpp"
#include "runtime/data/data_sources.hpp"

namespace lb {
namespace {

using test::Bytes;
namespace fs = std::filesystem;

// Class c's images are solid colour kColours[c], of varied sizes.
const std::array<std::array<int, 3>, 3> kColours{{{220, 20, 20}, {20, 220, 20}, {20, 20, 220}}};

class JpegSourceTest : public test::ScratchTest {
 protected:
  void SetUp() override {
    ScratchTest::SetUp();
    for (int c = 0; c < 3; ++c) {
      for (int i = 0; i < 6; ++i) {
        const fs::path file =
            dir_ / "train" / ("class" + std::to_string(c)) / ("img" + std::to_string(i) + ".jpg");
        test::write_bytes(file,
                          test::solid_rgb_jpeg(40 + 8 * i, 30 + 4 * i, kColours[std::size_t(c)]));
      }
    }
    spec_.image.size = 16;
    spec_.image.resize = 18;
  }

  std::shared_ptr<JpegSource> source(bool skip = false, bool half = false) {
    return std::make_shared<JpegSource>(index_image_folder(dir_ / "train", {}, skip),
                                        JpegSourceOptions{spec_.image, true, skip, half});
  }

  static LoaderOptions loader_options(bool augment) {
    LoaderOptions o;
    o.global_batch = 6;
    o.augment = augment;
    o.seed = 9;
    return o;
  }

  // The class whose colour the (normalised) image's centre pixel is nearest.
  int colour_class(const float* image) const {
    const int size = spec_.image.size, centre = size / 2 * size + size / 2;
    int best = -1;
    double best_distance = 1e9;
    for (int c = 0; c < 3; ++c) {
      double d = 0;
      for (int ch = 0; ch < 3; ++ch) {
        const double value = image[ch * size * size + centre] * spec_.image.std[std::size_t(ch)] +
                             spec_.image.mean[std::size_t(ch)];
        d += std::pow(value * 255 - kColours[std::size_t(c)][std::size_t(ch)], 2);
      }
      if (d < best_distance) best_distance = d, best = c;
    }
    return best;
  }

  DataSpec spec_;
};

TEST_F(JpegSourceTest, BatchesHaveTheShapeLabelsAndColoursOfTheirFiles) {
  for (bool augment : {false, true}) {
    BatchLoader loader(source(), loader_options(augment));
    EXPECT_EQ(loader.batches_per_epoch(), 3);
    Batch batch;
    for (std::int64_t b = 0; b < 3; ++b) {
      loader.fill(1, b, batch);
      ASSERT_EQ(batch.images.shape(), (Shape{6, 3, 16, 16}));
      for (std::int64_t i = 0; i < 6; ++i) {
        EXPECT_EQ(colour_class(batch.images.data() + i * 3 * 16 * 16),
                  batch.labels[std::size_t(i)]);
      }
    }
  }
}

TEST_F(JpegSourceTest, AugmentationIsAPureFunctionOfSeedEpochAndSample) {
  BatchLoader loader(source(), loader_options(true));
  Batch a, b, c;
  loader.fill(2, 1, a);
  std::thread([&] { loader.fill(2, 1, b); }).join();  // another thread, another decoder
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(
      std::memcmp(a.images.data(), b.images.data(), sizeof(float) * std::size_t(a.images.numel())),
      0);
  loader.fill(3, 1, c);
  EXPECT_NE(
      std::memcmp(a.images.data(), c.images.data(), sizeof(float) * std::size_t(a.images.numel())),
      0);
}

TEST_F(JpegSourceTest, HalfOutputIsRoundedToBinary16) {
  const auto half = source(false, true);
  std::vector<float> out(3 * 16 * 16);
  half->write_sample(4, 77, out.data());
  for (float v : out) EXPECT_EQ(v, half_to_float(float_to_half(v)));
}

// Replaces the 4th image of class 1 by `bytes` under `name`.
void damage(const fs::path& dir, const std::string& name, const Bytes& bytes) {
  fs::remove(dir / "train/class1/img3.jpg");
  test::write_bytes(dir / "train/class1" / name, bytes);
}

TEST_F(JpegSourceTest, GrayscaleAndCmykImagesConvertToRgb) {
  damage(dir_, "img3.jpg",
         test::encode_jpeg(
             test::make_pixels(20, 20, 1, [](int, int) { return std::array<int, 1>{20}; }), 20, 20,
             TJPF_GRAY));
  test::write_bytes(
      dir_ / "train/class1/img4.jpg",
      test::encode_jpeg(test::make_pixels(20, 20, 4,
                                          [](int, int) {
                                            return std::array<int, 4>{20, 220, 20, 255};
                                          }),
                        20, 20, TJPF_CMYK));
  const auto s = source();
  std::vector<float> out(3 * 16 * 16);
  EXPECT_EQ(s->write_sample(9, std::nullopt, out.data()), 1);  // gray
  EXPECT_NEAR(out[0] * spec_.image.std[0] + spec_.image.mean[0], 20 / 255.0, 0.02);
  EXPECT_EQ(s->write_sample(10, std::nullopt, out.data()), 1);  // CMYK
  EXPECT_EQ(colour_class(out.data()), 1);
}

struct BadImage {
  const char* name;
  Bytes bytes;
  const char* reason;
};

std::vector<BadImage> bad_images() {
  const Bytes good =
      test::encode_jpeg(test::make_pixels(64, 48, 3,
                                          [](int x, int y) {
                                            return std::array<int, 3>{x * 3, y * 5, 99};
                                          }),
                        64, 48, TJPF_RGB);
  Bytes corrupt = good;
  for (std::size_t i = good.size() / 2; i < good.size() / 2 + 40; ++i) corrupt[i] = 0xFF;
  return {{"img3.jpg", Bytes(good.begin(), good.begin() + std::ptrdiff_t(good.size() * 2 / 3)),
           "corrupt or truncated"},
          {"img3.jpg", corrupt, "corrupt or truncated"},
          {"img3.jpg",
           Bytes{0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 'I', 'H', 'D', 'R'},
           "not a JPEG"},
          {"img3.jpg", test::text_bytes("plain text, named .jpg"), "not a JPEG"},
          {"img3.jpg", Bytes{}, "not a JPEG"}};
}

// By default a bad image stops the batch with a DataError naming its file;
// with skip_corrupt it is counted and the next sample (with its own label) is used.
TEST_F(JpegSourceTest, BadImagesNameTheFileOrAreSkippedAndCounted) {
  for (const BadImage& bad : bad_images()) {
    damage(dir_, bad.name, bad.bytes);
    const std::string path = (dir_ / "train/class1" / bad.name).string();
    const auto strict = source();
    std::vector<float> out(3 * 16 * 16);
    try {
      strict->write_sample(9, 5, out.data());
      ADD_FAILURE() << bad.reason << ": no error";
    } catch (const DataError& e) {
      EXPECT_NE(std::string(e.what()).find(path + ": " + bad.reason), std::string::npos)
          << e.what();
    }
    const auto lenient = source(true);
    EXPECT_EQ(lenient->write_sample(9, 5, out.data()), 1);  // img4 of the same class stands in
    EXPECT_EQ(colour_class(out.data()), 1);
    EXPECT_EQ(lenient->write_sample(9, 6, out.data()), 1);
    EXPECT_EQ(lenient->skipped_files(), 1) << bad.reason;  // the same file counts once
    ASSERT_EQ(lenient->skipped_examples(5).size(), 1u);
    EXPECT_NE(lenient->skipped_examples(5)[0].find(path), std::string::npos);
  }
}

TEST_F(JpegSourceTest, ShardsGiveTheSameSamplesAsTheFolder) {
  // The folder's images, in index order, packed into two shards.
  const ImageIndex folder = index_image_folder(dir_ / "train", {}, false);
  std::vector<std::pair<std::string, Bytes>> first, second;
  for (std::size_t i = 0; i < folder.records.size(); ++i) {
    auto& shard = i < 7 ? first : second;
    const std::string key = "s" + std::to_string(100 + i);
    shard.push_back({key + ".jpg", test::read_bytes(folder.files[folder.records[i].file])});
    shard.push_back({key + ".cls", test::text_bytes(std::to_string(folder.records[i].label))});
  }
  test::write_tar(dir_ / "shard-0.tar", first);
  test::write_tar(dir_ / "shard-1.tar", second);
  const auto shards = std::make_shared<JpegSource>(
      index_shards(expand_braces((dir_ / "shard-{0..1}.tar").string()), false),
      JpegSourceOptions{spec_.image, true, false, false});
  BatchLoader from_shards(shards, loader_options(true)),
      from_folder(source(), loader_options(true));
  Batch a, b;
  for (std::int64_t i = 0; i < 3; ++i) {
    from_shards.fill(0, i, a);
    from_folder.fill(0, i, b);
    EXPECT_EQ(a.labels, b.labels);
    EXPECT_EQ(std::memcmp(a.images.data(), b.images.data(),
                          sizeof(float) * std::size_t(a.images.numel())),
              0);
  }
}

TEST_F(JpegSourceTest, LoadSourcesChecksTheSpecAndTheSplits) {
  DataSpec spec = spec_;
  spec.dataset = Dataset::imagefolder;
  EXPECT_THROW(load_sources(spec, 1, Precision::fp32), SpecError);  // no data.root
  spec.root = dir_.string();
  EXPECT_THROW(load_sources(spec, 1, Precision::fp32), DataError);  // no val/
  fs::create_directories(dir_ / "val/class2");
  test::write_bytes(dir_ / "val/class2/v.jpg", test::solid_rgb_jpeg(30, 30, kColours[2]));
  spec.train_subset = 9;
  const DataSources sources = load_sources(spec, 1, Precision::fp32);
  EXPECT_EQ(sources.train->count(), 9);
  EXPECT_EQ(sources.test->count(), 1);
  EXPECT_EQ(sources.test->classes(), 3);
  std::vector<float> out(3 * 16 * 16);
  EXPECT_EQ(sources.test->write_sample(0, std::nullopt, out.data()), 2);
  spec.dataset = Dataset::shards;
  try {
    load_sources(spec, 1, Precision::fp32);
    ADD_FAILURE() << "no error";
  } catch (const SpecError& e) {
    EXPECT_EQ(e.path(), "data.train_shards");
  }
}

}  // namespace
}  // namespace lb
