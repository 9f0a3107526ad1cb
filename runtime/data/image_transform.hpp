#pragma once
// ImageNet training's image transforms on decoded RGB images: where to crop
// (torchvision's RandomResizedCrop and Resize + CenterCrop, in source
// pixels), and the crop resized to the output, flipped and normalised into
// the network's (C, H, W) floats in one pass.
#include <array>
#include <cstdint>

#include "runtime/core/spec.hpp"
#include "runtime/data/jpeg_decoder.hpp"

namespace lb {

// A window of the source image in pixels (fractional: a window found on the
// full image is mapped onto a DCT-downscaled decode of it).
struct CropWindow {
  double x = 0, y = 0, width = 0, height = 0;
};

// Inception-style random-resized crop, torchvision's algorithm: up to 10
// draws of an area fraction in spec.scale and a log-uniform aspect ratio in
// spec.ratio, the first that fits; else the whole image cut to the ratio
// range, centred. Then a horizontal flip with probability 1/2 when `flip`.
// All drawn from SplitMix64(key).
struct RandomCrop {
  CropWindow window;
  bool flip = false;
};
RandomCrop draw_random_resized_crop(int width, int height, const ImageSpec& spec, bool flip,
                                    std::uint64_t key);

// Evaluation: the shorter side resized to spec.resize, then a centred square
// of spec.size, expressed as a window of the source image.
CropWindow center_crop(int width, int height, const ImageSpec& spec);

// (v / 255 - mean[c]) / std[c] as v * scale[c] + offset[c].
struct Normalisation {
  std::array<float, 3> scale{}, offset{};
  explicit Normalisation(const ImageSpec& spec);
};

// Resizes `window` of `image` to size x size (a triangle filter widened by
// the shrink factor, as PIL's antialiased bilinear resize), mirrors it when
// `flip`, normalises it and writes (3, size, size) floats to dst.
void resize_crop_normalise(const RgbImage& image, const CropWindow& window, int size, bool flip,
                           const Normalisation& norm, float* dst);

}  // namespace lb
