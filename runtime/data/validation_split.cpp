#include "runtime/data/validation_split.hpp"

#include <span>
#include <stdexcept>
#include <string>

#include "runtime/core/errors.hpp"
#include "runtime/core/rng.hpp"
#include "runtime/data/sampling.hpp"

namespace lb {
namespace {

// Separates the validation split's stream from every other use of a seed.
constexpr std::uint64_t kValidationTag = 0x7a11'da7a'0000'0002ull;

}  // namespace

IndexSplit split_validation(std::int64_t total, std::int64_t count, std::uint64_t seed) {
  if (count <= 0 || count >= total) {
    throw SpecError("data.validation_images",
                    "expected a count in [1, " + std::to_string(total - 1) +
                        "] (the training set has " + std::to_string(total) + " images), got " +
                        std::to_string(count));
  }
  std::vector<std::int64_t> order(static_cast<std::size_t>(total));
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = std::int64_t(i);
  SplitMix64 rng(mix(seed, kValidationTag));
  shuffle_in_place(rng, std::span<std::int64_t>(order));
  std::vector<bool> held(order.size(), false);
  for (std::int64_t k = 0; k < count; ++k) held[std::size_t(order[std::size_t(k)])] = true;
  IndexSplit split;
  split.held_out.reserve(std::size_t(count));
  split.kept.reserve(std::size_t(total - count));
  for (std::size_t i = 0; i < held.size(); ++i)
    (held[i] ? split.held_out : split.kept).push_back(std::int64_t(i));
  return split;
}

SubsetSource::SubsetSource(std::shared_ptr<const SampleSource> base,
                           std::vector<std::int64_t> indices)
    : base_(std::move(base)), indices_(std::move(indices)) {
  const std::int64_t n = base_->count();
  for (std::int64_t i : indices_) {
    if (i < 0 || i >= n) {
      throw std::invalid_argument("SubsetSource: index " + std::to_string(i) +
                                  " outside a source of " + std::to_string(n));
    }
  }
}

std::int32_t SubsetSource::write_sample(std::int64_t sample,
                                        std::optional<std::uint64_t> augment_key,
                                        float* dst) const {
  return base_->write_sample(indices_[std::size_t(sample)], augment_key, dst);
}

HeldOut hold_out_validation(std::shared_ptr<const SampleSource> train, std::int64_t count,
                            std::uint64_t seed) {
  IndexSplit split = split_validation(train->count(), count, seed);
  auto validation = std::make_shared<SubsetSource>(train, std::move(split.held_out));
  return {std::make_shared<SubsetSource>(std::move(train), std::move(split.kept)),
          std::move(validation)};
}

}  // namespace lb
