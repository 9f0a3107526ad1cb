#pragma once
// The training and test samples of a spec's data set (data.dataset), as
// sources for BatchLoader: IDX and synthetic sets in memory, imagefolder and
// shards as JPEG files read while training.
#include <cstdint>
#include <memory>

#include "runtime/core/precision.hpp"
#include "runtime/core/spec.hpp"
#include "runtime/data/sample_source.hpp"

namespace lb {

struct DataSources {
  std::shared_ptr<const SampleSource> train, test;
  // data.validation_images held out of the training set; null without.
  std::shared_ptr<const SampleSource> validation;
};

// Throws SpecError for a missing data.root / data.*_shards, DataError naming
// the file or folder for bad data found while indexing (the images
// themselves are read later, batch by batch). fp16: JPEG samples come out
// rounded to binary16, the precision the step stores activations in.
// data.validation_images are held out after data.train_subset is applied.
DataSources load_sources(const DataSpec& spec, std::uint64_t seed, Precision precision);

}  // namespace lb
