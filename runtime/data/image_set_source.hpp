#pragma once
// An ImageSet in memory as a SampleSource: samples are copied, with the
// random crop after padding and the horizontal flip of data.augment.
#include <memory>

#include "runtime/core/spec.hpp"
#include "runtime/data/image_set.hpp"
#include "runtime/data/sample_source.hpp"

namespace lb {

class ImageSetSource : public SampleSource {
 public:
  // Throws std::invalid_argument for a set whose pixels or labels do not
  // match its count, or a negative crop padding.
  ImageSetSource(std::shared_ptr<const ImageSet> set, AugmentSpec augment);

  std::int64_t count() const override { return set_->count; }
  SampleShape shape() const override { return {set_->channels, set_->height, set_->width}; }
  int classes() const override { return set_->classes; }
  std::int32_t write_sample(std::int64_t sample, std::optional<std::uint64_t> augment_key,
                            float* dst) const override;

 private:
  std::shared_ptr<const ImageSet> set_;
  AugmentSpec augment_;
};

}  // namespace lb
