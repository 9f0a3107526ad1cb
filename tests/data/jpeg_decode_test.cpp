// JpegDecoder (colour spaces, DCT scaling, damaged files) and the image
// transforms (crop windows, resize + flip + normalise).
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "jpeg_fixtures.hpp"
#include "runtime/data/image_transform.hpp"
#include "runtime/data/jpeg_decoder.hpp"

namespace lb {
namespace {

using test::Bytes;

void expect_colour(const RgbImage& image, std::array<int, 3> rgb, int tolerance) {
  for (std::size_t i = 0; i < image.pixels.size(); ++i) {
    ASSERT_NEAR(image.pixels[i], rgb[i % 3], tolerance) << "value " << i;
  }
}

TEST(JpegDecoder, DecodesRgbGrayAndCmykToRgb) {
  JpegDecoder decoder;
  RgbImage image;
  const Bytes rgb = test::solid_rgb_jpeg(40, 24, {200, 100, 30});
  decoder.decode(rgb, decoder.header(rgb), 0, 0, image);
  EXPECT_EQ(image.width, 40);
  EXPECT_EQ(image.height, 24);
  expect_colour(image, {200, 100, 30}, 3);

  const Bytes gray = test::encode_jpeg(
      test::make_pixels(16, 16, 1, [](int, int) { return std::array<int, 1>{77}; }), 16, 16,
      TJPF_GRAY);
  decoder.decode(gray, decoder.header(gray), 0, 0, image);
  expect_colour(image, {77, 77, 77}, 2);

  // Inverted (Adobe) CMYK: C=255-R' ... stored as ink amounts 255 - value.
  const Bytes cmyk =
      test::encode_jpeg(test::make_pixels(16, 16, 4,
                                          [](int, int) {
                                            return std::array<int, 4>{255, 128, 64, 255};
                                          }),
                        16, 16, TJPF_CMYK);
  const JpegHeader header = decoder.header(cmyk);
  EXPECT_TRUE(header.cmyk);
  decoder.decode(cmyk, header, 0, 0, image);
  expect_colour(image, {255, 128, 64}, 3);
}

TEST(JpegDecoder, DecodesAtTheSmallestScaleThatCoversTheRequest) {
  JpegDecoder decoder;
  RgbImage image;
  const Bytes jpeg = test::solid_rgb_jpeg(512, 384, {10, 20, 30});
  const JpegHeader header = decoder.header(jpeg);
  decoder.decode(jpeg, header, 100, 90, image);  // 1/4 gives 128 x 96
  EXPECT_EQ(image.width, 128);
  EXPECT_EQ(image.height, 96);
  decoder.decode(jpeg, header, 129, 10, image);  // 1/4 is too small: 3/8 gives 192 x 144
  EXPECT_EQ(image.width, 192);
  decoder.decode(jpeg, header, 1000, 1000, image);  // never above full size
  EXPECT_EQ(image.width, 512);
  EXPECT_EQ(image.height, 384);
  expect_colour(image, {10, 20, 30}, 3);
}

TEST(JpegDecoder, RejectsTruncatedCorruptAndNonJpegData) {
  JpegDecoder decoder;
  RgbImage image;
  const Bytes good =
      test::encode_jpeg(test::make_pixels(64, 64, 3,
                                          [](int x, int y) {
                                            return std::array<int, 3>{x * 4, y * 4, (x * y) % 256};
                                          }),
                        64, 64, TJPF_RGB);
  Bytes truncated(good.begin(), good.begin() + std::ptrdiff_t(good.size() / 2));
  EXPECT_THROW(decoder.decode(truncated, decoder.header(truncated), 0, 0, image), JpegError);
  Bytes corrupt = good;
  for (std::size_t i = corrupt.size() / 2; i < corrupt.size() / 2 + 64; ++i) corrupt[i] = 0xFF;
  EXPECT_THROW(decoder.decode(corrupt, decoder.header(corrupt), 0, 0, image), JpegError);
  const Bytes png{0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13};
  try {
    decoder.header(png);
    ADD_FAILURE() << "a PNG was accepted";
  } catch (const JpegError& e) {
    EXPECT_NE(std::string(e.what()).find("not a JPEG"), std::string::npos) << e.what();
  }
  EXPECT_THROW(decoder.header(test::text_bytes("hello, world")), JpegError);
  EXPECT_THROW(decoder.header(Bytes{}), JpegError);
  Bytes header_only(good.begin(), good.begin() + 20);  // SOI and a little of APP0
  EXPECT_THROW(decoder.header(header_only), JpegError);
}

TEST(ImageTransform, CenterCropIsResizeThenCentredSquare) {
  const ImageSpec spec;  // size 224, resize 256
  const CropWindow w = center_crop(500, 375, spec);
  const double side = 224.0 * 375 / 256;  // 224 resized pixels in source pixels
  EXPECT_NEAR(w.width, side, 1e-9);
  EXPECT_NEAR(w.height, side, 1e-9);
  EXPECT_NEAR(w.x, (500 - side) / 2, 1e-9);
  EXPECT_NEAR(w.y, (375 - side) / 2, 1e-9);
}

TEST(ImageTransform, RandomResizedCropStaysInRangeAndIsSeeded) {
  const ImageSpec spec;  // scale [0.08, 1], ratio [3/4, 4/3]
  std::set<std::pair<double, double>> origins;
  int flips = 0;
  for (std::uint64_t key = 0; key < 400; ++key) {
    const RandomCrop c = draw_random_resized_crop(500, 375, spec, true, key);
    const CropWindow& w = c.window;
    ASSERT_GE(w.x, 0);
    ASSERT_GE(w.y, 0);
    ASSERT_LE(w.x + w.width, 500);
    ASSERT_LE(w.y + w.height, 375);
    const double area = w.width * w.height / (500.0 * 375), ratio = w.width / w.height;
    EXPECT_GE(area, 0.079);
    EXPECT_GE(ratio, 0.74);
    EXPECT_LE(ratio, 1.35);
    origins.insert({w.x, w.y});
    flips += c.flip;
    const RandomCrop again = draw_random_resized_crop(500, 375, spec, true, key);
    EXPECT_EQ(again.window.x, w.x);
    EXPECT_EQ(again.window.width, w.width);
    EXPECT_EQ(again.flip, c.flip);
  }
  EXPECT_GT(origins.size(), 350u);
  EXPECT_GT(flips, 150);
  EXPECT_LT(flips, 250);
  // An image too narrow for any draw falls back to the centred ratio-limited crop.
  const RandomCrop thin = draw_random_resized_crop(1000, 10, spec, false, 3);
  EXPECT_EQ(thin.window.height, 10);
  EXPECT_NEAR(thin.window.width, 13, 0.5);
  EXPECT_FALSE(thin.flip);
}

TEST(ImageTransform, ResizeNormalisesFlipsAndKeepsConstantsConstant) {
  ImageSpec spec;
  spec.mean = {0.5, 0.25, 0.0};
  spec.std = {0.5, 0.25, 1.0};
  const Normalisation norm(spec);
  RgbImage image{90, 60, {}};
  // Red rises left to right, green is constant, blue is constant.
  image.pixels = test::make_pixels(90, 60, 3, [](int x, int) {
    return std::array<int, 3>{x * 2, 51, 255};
  });
  const int size = 8;
  std::vector<float> plain(3 * size * size), mirrored(3 * size * size);
  const CropWindow all{0, 0, 90, 60};
  resize_crop_normalise(image, all, size, false, norm, plain.data());
  resize_crop_normalise(image, all, size, true, norm, mirrored.data());
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      const int i = y * size + x;
      EXPECT_NEAR(plain[std::size_t(size * size + i)], (51 / 255.0 - 0.25) / 0.25, 1e-5);
      EXPECT_NEAR(plain[std::size_t(2 * size * size + i)], 1.0, 1e-5);
      EXPECT_FLOAT_EQ(mirrored[std::size_t(y * size + x)],
                      plain[std::size_t(y * size + size - 1 - x)]);
      if (x > 0) {
        EXPECT_GT(plain[std::size_t(i)], plain[std::size_t(i - 1)]);
      }
    }
  }
  // Output column 3 of 8 is centred at 39.375, i.e. pixel 38.875: red 77.75.
  EXPECT_NEAR(plain[3], (77.75 / 255.0 - 0.5) / 0.5, 0.01);
}

}  // namespace
}  // namespace lb
