#include "runtime/data/augment.hpp"

#include <algorithm>
#include <cstring>

#include "runtime/data/sampling.hpp"

namespace lb {

CropFlip draw_crop_flip(const AugmentSpec& spec, std::uint64_t key) {
  SplitMix64 rng(key);
  CropFlip op;
  if (spec.crop_padding > 0) {
    op.padding = spec.crop_padding;
    const std::uint64_t positions = 2 * std::uint64_t(spec.crop_padding) + 1;
    op.dy = int(uniform_index(rng, positions));
    op.dx = int(uniform_index(rng, positions));
  }
  if (spec.horizontal_flip) op.flip = (rng() >> 63) != 0;
  return op;
}

// Runs once per image per step, so rows are block copies: each output row is
// [pad | source row segment | pad], mirrored in place when flipping.
void apply_crop_flip(const float* src, float* dst, int channels, int height, int width,
                     const CropFlip& op, float pad_value) {
  // Source column of output column 0; the copied segment is the output
  // columns whose source column lies in [0, width).
  const int shift = op.dx - op.padding;
  const int first = std::clamp(-shift, 0, width);
  const int last = std::clamp(width - shift, first, width);
  for (int c = 0; c < channels; ++c) {
    for (int y = 0; y < height; ++y) {
      float* row = dst + (std::size_t(c) * height + y) * width;
      const int sy = y + op.dy - op.padding;
      if (sy < 0 || sy >= height) {
        std::fill(row, row + width, pad_value);
        continue;
      }
      const float* from = src + (std::size_t(c) * height + sy) * width;
      std::fill(row, row + first, pad_value);
      std::memcpy(row + first, from + first + shift, sizeof(float) * std::size_t(last - first));
      std::fill(row + last, row + width, pad_value);
      if (op.flip) std::reverse(row, row + width);
    }
  }
}

}  // namespace lb
