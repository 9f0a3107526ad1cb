#pragma once
// data.validation_images: training samples held out as a validation set,
// never trained on. Which samples is decided by data.validation_seed alone,
// so every run of a study (every seed, batch and optimizer) holds out the
// same ones, whatever kind of data set the samples come from.
#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/data/sample_source.hpp"

namespace lb {

// Sample indices of a set of `total`, each list ascending.
struct IndexSplit {
  std::vector<std::int64_t> held_out, kept;
};

// `count` samples drawn uniformly from all `total` by `seed`. Throws
// SpecError (data.validation_images) unless 0 < count < total.
IndexSplit split_validation(std::int64_t total, std::int64_t count, std::uint64_t seed);

// Some samples of another source, renumbered 0..n-1 in the order given.
// Sample k of the view is sample indices[k] of the base, with the base's
// label and augmentation: keyed by k, as a set of its own would be.
class SubsetSource : public SampleSource {
 public:
  // Throws std::invalid_argument for an index outside the base.
  SubsetSource(std::shared_ptr<const SampleSource> base, std::vector<std::int64_t> indices);

  std::int64_t count() const override { return std::int64_t(indices_.size()); }
  SampleShape shape() const override { return base_->shape(); }
  int classes() const override { return base_->classes(); }
  std::int32_t write_sample(std::int64_t sample, std::optional<std::uint64_t> augment_key,
                            float* dst) const override;
  // The base's files: a view shares them with the other views of its base.
  std::int64_t skipped_files() const override { return base_->skipped_files(); }
  std::vector<std::string> skipped_examples(std::size_t limit) const override {
    return base_->skipped_examples(limit);
  }

 private:
  std::shared_ptr<const SampleSource> base_;
  std::vector<std::int64_t> indices_;
};

struct HeldOut {
  std::shared_ptr<const SampleSource> train, validation;
};

// Splits `train` into the samples left to train on (in their original
// order) and `count` validation samples, by split_validation.
HeldOut hold_out_validation(std::shared_ptr<const SampleSource> train, std::int64_t count,
                            std::uint64_t seed);

}  // namespace lb
