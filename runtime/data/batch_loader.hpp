#pragma once
// Turns a SampleSource (an ImageSet in memory, JPEG files) into shuffled,
// sharded, augmented mini-batches.
//
// Every batch is a pure function of (seed, epoch, index, rank, world): worker
// threads may prepare batches in any order, and a run resumed at (epoch,
// index) sees exactly the data an uninterrupted run would have seen.
#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "runtime/core/spec.hpp"
#include "runtime/data/image_set.hpp"
#include "runtime/data/sample_source.hpp"
#include "runtime/tensor/tensor.hpp"

namespace lb {

struct Batch {
  Tensor images;  // (B, C, H, W)
  std::vector<std::int32_t> labels;
  std::int64_t epoch = 0, index = 0;
};

struct LoaderOptions {
  std::int64_t global_batch = 256;  // samples per step over all ranks
  bool shuffle = true;
  bool augment = false;      // training only
  AugmentSpec augment_spec;  // the ImageSet constructor's crop and flip
  std::uint64_t seed = 1;
  int rank = 0;
  int world = 1;
  bool drop_last = true;  // drop the epoch's last, incomplete batch
};

class BatchLoader {
 public:
  // Keeps a reference to `set`, which must outlive the loader, augmented
  // with options.augment_spec. Throws std::invalid_argument for an
  // inconsistent set or options.
  BatchLoader(const ImageSet& set, LoaderOptions options);
  // Samples from `source` (options.augment_spec is not used: the source
  // brings its own augmentation).
  BatchLoader(std::shared_ptr<const SampleSource> source, LoaderOptions options);
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  const LoaderOptions& options() const { return options_; }
  const SampleSource& source() const { return *source_; }

  // drop_last: floor(count / global_batch), else ceil.
  std::int64_t batches_per_epoch() const;
  // This rank's share of global batch `index`: the first (B % world) ranks
  // take one sample more, where B is the batch's size (the last batch may be
  // smaller without drop_last).
  std::int64_t local_batch(std::int64_t index) const;

  // Fills `out` with this rank's part of global batch `index` of `epoch`.
  // Thread-safe; reuses out's buffers when they are large enough.
  void fill(std::int64_t epoch, std::int64_t index, Batch& out) const;

 private:
  using Permutation = std::vector<std::int64_t>;
  struct CacheEntry {
    std::int64_t epoch = -1;
    std::uint64_t last_use = 0;
    std::shared_ptr<const Permutation> order;
  };

  std::int64_t global_size(std::int64_t index) const;
  std::shared_ptr<const Permutation> permutation(std::int64_t epoch) const;

  std::shared_ptr<const SampleSource> source_;
  LoaderOptions options_;
  // Shuffling 60k indices takes about as long as filling a batch, so the
  // permutations of the two most recently used epochs are kept: two, because
  // prefetching workers straddle an epoch boundary.
  mutable std::mutex mutex_;
  mutable std::array<CacheEntry, 2> cache_;
  mutable std::uint64_t uses_ = 0;
};

}  // namespace lb
