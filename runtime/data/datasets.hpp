#pragma once
// The datasets a spec can name (data.dataset).
#include <cstdint>
#include <string>

#include "runtime/core/spec.hpp"
#include "runtime/data/image_set.hpp"

namespace lb {

// fashion_mnist: DIR/train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz
// (t10k-* for the test set), 10 classes. synthetic: generated from `seed`.
// data.train_subset (when > 0) keeps only the first N training images.
// Throws DataError for a bad file, SpecError for an unknown dataset.
// An empty set is a DataError too.
ImageSet load_dataset(const DataSpec& spec, bool train, std::uint64_t seed);

// Where a set's images come from, for messages: the images file, or "the
// synthetic training set".
std::string dataset_source(const DataSpec& spec, bool train);

// Random images that are cheap to learn: each pixel is a class-dependent mean
// plus standard normal noise. The class means depend only on `seed`, so the
// train and test sets (which differ) come from the same distribution.
ImageSet make_synthetic(const SyntheticSpec& spec, bool train, std::uint64_t seed);

}  // namespace lb
