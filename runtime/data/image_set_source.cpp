#include "runtime/data/image_set_source.hpp"

#include <cstring>
#include <stdexcept>

#include "runtime/data/augment.hpp"

namespace lb {

ImageSetSource::ImageSetSource(std::shared_ptr<const ImageSet> set, AugmentSpec augment)
    : set_(std::move(set)), augment_(augment) {
  const ImageSet& s = *set_;
  if (s.count < 0 || s.image_size() <= 0)
    throw std::invalid_argument("BatchLoader: image set has no shape");
  if (std::int64_t(s.pixels.size()) != s.count * s.image_size() ||
      std::int64_t(s.labels.size()) != s.count) {
    throw std::invalid_argument("BatchLoader: image set's pixels or labels do not match its count");
  }
  if (augment_.crop_padding < 0)
    throw std::invalid_argument("BatchLoader: crop_padding must not be negative");
}

std::int32_t ImageSetSource::write_sample(std::int64_t sample,
                                          std::optional<std::uint64_t> augment_key,
                                          float* dst) const {
  const ImageSet& s = *set_;
  const std::int64_t size = s.image_size();
  const float* src = s.pixels.data() + sample * size;
  if (!augment_key) {
    std::memcpy(dst, src, sizeof(float) * std::size_t(size));
  } else {
    const CropFlip op = draw_crop_flip(augment_, *augment_key);
    apply_crop_flip(src, dst, s.channels, s.height, s.width, op, s.pad_value);
  }
  return s.labels[std::size_t(sample)];
}

}  // namespace lb
