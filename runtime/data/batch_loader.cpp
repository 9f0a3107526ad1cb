#include "runtime/data/batch_loader.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <string>

#include "runtime/core/batch_arithmetic.hpp"
#include "runtime/core/rng.hpp"
#include "runtime/data/image_set_source.hpp"
#include "runtime/data/sampling.hpp"

namespace lb {
namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument("BatchLoader: " + message);
}

// Rank r's contiguous slice of a batch of n samples: the first n % world ranks
// take one more sample, so shares differ by at most one.
struct Shard {
  std::int64_t offset, size;
};
Shard shard(std::int64_t n, int rank, int world) {
  const std::int64_t base = n / world, extra = n % world;
  return {rank * base + std::min<std::int64_t>(rank, extra), base + (rank < extra ? 1 : 0)};
}

}  // namespace

BatchLoader::BatchLoader(const ImageSet& set, LoaderOptions options)
    : BatchLoader(std::make_shared<ImageSetSource>(
                      std::shared_ptr<const ImageSet>(&set, [](const ImageSet*) {}),  // not owned
                      options.augment_spec),
                  options) {}

BatchLoader::BatchLoader(std::shared_ptr<const SampleSource> source, LoaderOptions options)
    : source_(std::move(source)), options_(std::move(options)) {
  require(source_ != nullptr && source_->count() >= 0 && source_->shape().size() > 0,
          "sample source has no shape");
  require(options_.global_batch > 0, "global_batch must be positive");
  require(options_.world > 0 && options_.rank >= 0 && options_.rank < options_.world,
          "rank " + std::to_string(options_.rank) + " out of range for world " +
              std::to_string(options_.world));
}

std::int64_t BatchLoader::batches_per_epoch() const {
  const std::int64_t g = options_.global_batch;
  return options_.drop_last ? steps_per_epoch(source_->count(), g) : (source_->count() + g - 1) / g;
}

std::int64_t BatchLoader::global_size(std::int64_t index) const {
  if (index < 0 || index >= batches_per_epoch()) {
    throw std::out_of_range("BatchLoader: batch " + std::to_string(index) + " of " +
                            std::to_string(batches_per_epoch()));
  }
  return std::min(options_.global_batch, source_->count() - index * options_.global_batch);
}

std::int64_t BatchLoader::local_batch(std::int64_t index) const {
  return shard(global_size(index), options_.rank, options_.world).size;
}

std::shared_ptr<const BatchLoader::Permutation> BatchLoader::permutation(std::int64_t epoch) const {
  // Computed under the lock: a thread that needs the same epoch would only
  // wait for it anyway, and no work is duplicated.
  std::lock_guard lock(mutex_);
  ++uses_;
  for (CacheEntry& entry : cache_) {
    if (entry.order && entry.epoch == epoch) {
      entry.last_use = uses_;
      return entry.order;
    }
  }
  auto order = std::make_shared<Permutation>(std::size_t(source_->count()));
  std::iota(order->begin(), order->end(), std::int64_t(0));
  Rng rng(mix(options_.seed, std::uint64_t(epoch)));
  shuffle_in_place(rng, std::span<std::int64_t>(*order));
  CacheEntry& victim = *std::min_element(
      cache_.begin(), cache_.end(),
      [](const CacheEntry& a, const CacheEntry& b) { return a.last_use < b.last_use; });
  victim = {epoch, uses_, order};
  return order;
}

void BatchLoader::fill(std::int64_t epoch, std::int64_t index, Batch& out) const {
  const Shard part = shard(global_size(index), options_.rank, options_.world);
  std::shared_ptr<const Permutation> order;
  if (options_.shuffle) order = permutation(epoch);
  const std::int64_t start = index * options_.global_batch + part.offset;

  const SampleShape shape = source_->shape();
  out.images.reshape({part.size, shape.channels, shape.height, shape.width});
  out.labels.resize(std::size_t(part.size));
  out.epoch = epoch;
  out.index = index;
  for (std::int64_t i = 0; i < part.size; ++i) {
    const std::int64_t position = start + i;
    const std::int64_t sample = order ? (*order)[std::size_t(position)] : position;
    // Keyed by the dataset index, not the batch position, so a sample's
    // augmentation does not depend on the shuffle, the rank or the world size.
    std::optional<std::uint64_t> key;
    if (options_.augment) key = mix(options_.seed, std::uint64_t(epoch), std::uint64_t(sample));
    out.labels[std::size_t(i)] =
        source_->write_sample(sample, key, out.images.data() + i * shape.size());
  }
}

}  // namespace lb
