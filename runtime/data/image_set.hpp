#pragma once
// A labelled image set held in memory, already normalised, in the layout the
// network consumes, so the input pipeline only copies (and augments) floats.
#include <cstdint>
#include <vector>

namespace lb {

struct ImageSet {
  std::int64_t count = 0;
  int channels = 0, height = 0, width = 0, classes = 0;
  std::vector<float> pixels;         // (count, C, H, W), normalised: (x/255 - mean)/std
  std::vector<std::int32_t> labels;  // (count)
  // The normalised value of a black pixel: random crops pad with it so the
  // padding looks like background rather than mid-grey.
  float pad_value = 0.0f;
  std::int64_t image_size() const { return std::int64_t(channels) * height * width; }
};

}  // namespace lb
