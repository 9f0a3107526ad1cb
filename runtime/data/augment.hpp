#pragma once
// Training-time augmentation: random crop after padding, and horizontal flip.
#include <cstdint>

#include "runtime/core/spec.hpp"

namespace lb {

// One sample's random choices. The crop window starts at (dy, dx) in the image
// padded by `padding` pixels on every side; dy, dx lie in [0, 2 * padding].
struct CropFlip {
  int padding = 0;
  int dy = 0, dx = 0;
  bool flip = false;
};

// Draws a sample's crop offsets (if spec.crop_padding > 0) and then its flip
// (probability 0.5, if spec.horizontal_flip) from the stream SplitMix64(key).
CropFlip draw_crop_flip(const AugmentSpec& spec, std::uint64_t key);

// Writes the cropped (and possibly mirrored) (C, H, W) image `src` to `dst`;
// pixels that fall in the padding get `pad_value`. src and dst must not overlap.
void apply_crop_flip(const float* src, float* dst, int channels, int height, int width,
                     const CropFlip& op, float pad_value);

}  // namespace lb
