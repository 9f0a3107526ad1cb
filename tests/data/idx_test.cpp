// IDX parsing and load_dataset on small files written to a temp directory.
#include "runtime/data/idx.hpp"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "runtime/core/errors.hpp"
#include "runtime/data/datasets.hpp"

namespace lb {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<unsigned char>;

constexpr float kMean = 0.25f;
constexpr float kStd = 0.5f;

Bytes header(std::uint32_t magic, const std::vector<std::uint32_t>& dims) {
  Bytes out;
  auto put = [&](std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back((v >> shift) & 0xff);
  };
  put(magic);
  for (std::uint32_t d : dims) put(d);
  return out;
}

Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

void write_plain(const fs::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

void write_gzip(const fs::path& path, const Bytes& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, bytes.data(), unsigned(bytes.size())), int(bytes.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
}

Bytes read_raw(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

// 3 images of 2x4 with pixel values 0..23 scaled to cover 0 and 255.
Bytes image_payload() {
  Bytes pixels(24);
  for (int i = 0; i < 24; ++i) pixels[i] = (unsigned char)(i * 255 / 23);
  return pixels;
}
Bytes images_file() { return concat(header(0x803, {3, 2, 4}), image_payload()); }
Bytes labels_file() { return concat(header(0x801, {3}), Bytes{2, 0, 1}); }

class IdxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ =
        fs::temp_directory_path() / ("lb_data_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Expects read_idx to throw a DataError whose message names `file` and
  // contains `fragment`.
  void expect_error(const fs::path& images, const fs::path& labels, const fs::path& file,
                    const std::string& fragment) {
    try {
      read_idx(images, labels, kMean, kStd);
      ADD_FAILURE() << "no DataError; expected one about " << file;
    } catch (const DataError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("data error: " + file.string() + ": "), std::string::npos) << message;
      EXPECT_NE(message.find(fragment), std::string::npos) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }

  fs::path dir_;
};

void expect_parsed(const ImageSet& set) {
  EXPECT_EQ(set.count, 3);
  EXPECT_EQ(set.channels, 1);
  EXPECT_EQ(set.height, 2);
  EXPECT_EQ(set.width, 4);
  EXPECT_EQ(set.classes, 3);
  EXPECT_EQ(set.labels, (std::vector<std::int32_t>{2, 0, 1}));
  const Bytes raw = image_payload();
  ASSERT_EQ(set.pixels.size(), raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    EXPECT_NEAR(set.pixels[i], (raw[i] / 255.0f - kMean) / kStd, 1e-6f) << i;
  }
  EXPECT_FLOAT_EQ(set.pixels.front(), -kMean / kStd);
  EXPECT_FLOAT_EQ(set.pixels.back(), (1.0f - kMean) / kStd);
  EXPECT_FLOAT_EQ(set.pad_value, -kMean / kStd);
}

TEST_F(IdxTest, ParsesPlainFiles) {
  write_plain(dir_ / "img", images_file());
  write_plain(dir_ / "lbl", labels_file());
  expect_parsed(read_idx(dir_ / "img", dir_ / "lbl", kMean, kStd));
}

TEST_F(IdxTest, ParsesGzipFiles) {
  write_gzip(dir_ / "img.gz", images_file());
  write_gzip(dir_ / "lbl.gz", labels_file());
  expect_parsed(read_idx(dir_ / "img.gz", dir_ / "lbl.gz", kMean, kStd));
}

TEST_F(IdxTest, MissingFile) {
  write_gzip(dir_ / "lbl.gz", labels_file());
  expect_error(dir_ / "nope.gz", dir_ / "lbl.gz", dir_ / "nope.gz", "cannot open");
  write_gzip(dir_ / "img.gz", images_file());
  expect_error(dir_ / "img.gz", dir_ / "gone.gz", dir_ / "gone.gz", "cannot open");
}

TEST_F(IdxTest, BadMagic) {
  write_gzip(dir_ / "img.gz", images_file());
  write_gzip(dir_ / "lbl.gz", labels_file());
  // Swapped: the labels file where images are expected and vice versa.
  expect_error(dir_ / "lbl.gz", dir_ / "lbl.gz", dir_ / "lbl.gz",
               "not an IDX images file (magic 0x00000801)");
  expect_error(dir_ / "img.gz", dir_ / "img.gz", dir_ / "img.gz",
               "not an IDX labels file (magic 0x00000803)");
}

TEST_F(IdxTest, TruncatedImages) {
  Bytes images = images_file();
  images.resize(images.size() - 5);
  write_gzip(dir_ / "img.gz", images);
  write_gzip(dir_ / "lbl.gz", labels_file());
  expect_error(dir_ / "img.gz", dir_ / "lbl.gz", dir_ / "img.gz",
               "truncated: expected 24 bytes of pixel data, got 19");
  write_plain(dir_ / "short", Bytes{0, 0, 8, 3, 0, 0});
  expect_error(dir_ / "short", dir_ / "lbl.gz", dir_ / "short",
               "truncated: expected 16 bytes of header, got 6");
}

TEST_F(IdxTest, TruncatedLabels) {
  write_plain(dir_ / "img", images_file());
  write_plain(dir_ / "lbl", concat(header(0x801, {3}), Bytes{2, 0}));
  expect_error(dir_ / "img", dir_ / "lbl", dir_ / "lbl",
               "truncated: expected 3 bytes of label data, got 2");
}

TEST_F(IdxTest, TruncatedGzipStream) {
  write_gzip(dir_ / "img.gz", images_file());
  Bytes gz = read_raw(dir_ / "img.gz");
  gz.resize(gz.size() / 2);  // cut mid-stream: zlib reports an unexpected end
  write_plain(dir_ / "img.gz", gz);
  write_gzip(dir_ / "lbl.gz", labels_file());
  expect_error(dir_ / "img.gz", dir_ / "lbl.gz", dir_ / "img.gz", "truncated");
}

TEST_F(IdxTest, CountMismatchNamesBothFiles) {
  write_gzip(dir_ / "img.gz", images_file());
  write_gzip(dir_ / "lbl.gz", concat(header(0x801, {4}), Bytes{2, 0, 1, 1}));
  expect_error(dir_ / "img.gz", dir_ / "lbl.gz", dir_ / "img.gz",
               "3 images but " + (dir_ / "lbl.gz").string() + " has 4 labels");
}

TEST_F(IdxTest, CorruptGzipHeaderAndBlock) {
  write_gzip(dir_ / "lbl.gz", labels_file());
  // A valid gzip header followed by a deflate block of the reserved type 3.
  write_plain(dir_ / "img.gz", Bytes{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff});
  expect_error(dir_ / "img.gz", dir_ / "lbl.gz", dir_ / "img.gz", "corrupt gzip data");
}

TEST_F(IdxTest, CorruptGzipChecksum) {
  write_gzip(dir_ / "img.gz", images_file());
  write_gzip(dir_ / "lbl.gz", labels_file());
  Bytes gz = read_raw(dir_ / "img.gz");
  gz[gz.size() - 6] ^= 0x55;  // inside the CRC-32 of the trailer
  write_plain(dir_ / "img.gz", gz);
  expect_error(dir_ / "img.gz", dir_ / "lbl.gz", dir_ / "img.gz", "corrupt gzip data");
}

TEST_F(IdxTest, LoadDatasetChecksFashionLabelsAndSubset) {
  const Bytes pixels(4 * 28 * 28, 7);
  write_gzip(dir_ / "train-images-idx3-ubyte.gz", concat(header(0x803, {4, 28, 28}), pixels));
  write_gzip(dir_ / "train-labels-idx1-ubyte.gz", concat(header(0x801, {4}), Bytes{9, 1, 2, 3}));
  DataSpec spec;
  spec.dir = dir_.string();
  spec.train_subset = 3;
  ImageSet set = load_dataset(spec, true, 1);
  EXPECT_EQ(set.count, 3);
  EXPECT_EQ(set.classes, 10);
  EXPECT_EQ(set.pixels.size(), 3u * 28 * 28);
  EXPECT_EQ(set.labels, (std::vector<std::int32_t>{9, 1, 2}));
  EXPECT_NEAR(set.pixels[0], (7 / 255.0f - 0.2860f) / 0.3530f, 1e-6f);

  spec.train_subset = 5;
  EXPECT_THROW(load_dataset(spec, true, 1), SpecError);

  const fs::path labels = dir_ / "train-labels-idx1-ubyte.gz";
  write_gzip(labels, concat(header(0x801, {4}), Bytes{10, 1, 2, 3}));
  spec.train_subset = 0;
  try {
    load_dataset(spec, true, 1);
    ADD_FAILURE() << "label 10 accepted";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(labels.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("label 10 out of range"), std::string::npos) << e.what();
  }
  // The test set is t10k-*, which does not exist here.
  EXPECT_THROW(load_dataset(spec, false, 1), DataError);
}

// Issue 17, items 10 and 18: a set of 0 images is a data error naming its
// images file (not a train.global_batch error, not a NaN accuracy).
TEST_F(IdxTest, EmptyTrainingOrTestSetIsADataErrorNamingItsFile) {
  for (const std::string prefix : {"train", "t10k"}) {
    write_gzip(dir_ / (prefix + "-images-idx3-ubyte.gz"), header(0x803, {0, 28, 28}));
    write_gzip(dir_ / (prefix + "-labels-idx1-ubyte.gz"), header(0x801, {0}));
  }
  DataSpec spec;
  spec.dir = dir_.string();
  for (const bool train : {true, false}) {
    const std::string images =
        (dir_ / (train ? "train-images-idx3-ubyte.gz" : "t10k-images-idx3-ubyte.gz")).string();
    try {
      load_dataset(spec, train, 1);
      ADD_FAILURE() << "an empty set accepted";
    } catch (const DataError& e) {
      EXPECT_EQ(std::string(e.what()), "data error: " + images + ": holds no images");
    }
  }
}

}  // namespace
}  // namespace lb
